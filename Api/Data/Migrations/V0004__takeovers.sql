-- Takeover of a generation whose owner died: how many times another Api process has claimed the reply. Each claim
-- also writes a new owner_id ('{instance}#{takeovers}'), so the fenced writes of an earlier run match nothing.
ALTER TABLE messages ADD COLUMN takeovers int NOT NULL DEFAULT 0;
