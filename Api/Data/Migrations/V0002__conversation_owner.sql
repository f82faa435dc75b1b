-- Conversations belong to a user (the `sub` of the caller's token). Rows from before identity existed go to
-- 'legacy', a user nobody signs in as. Every query of the Api filters by user_id.

ALTER TABLE conversations ADD COLUMN user_id text NOT NULL DEFAULT 'legacy';
ALTER TABLE conversations ALTER COLUMN user_id DROP DEFAULT;

CREATE INDEX ix_conversations_user_created ON conversations (user_id, created_at DESC);
