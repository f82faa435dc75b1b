-- Conversations, their messages and the transactional outbox of channel events.
-- Applied once by the startup migrator (Data/SchemaMigrator.cs).

CREATE TABLE conversations (
    id          uuid PRIMARY KEY,
    title       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX ix_conversations_created_at ON conversations (created_at DESC);

CREATE TABLE messages (
    id                uuid PRIMARY KEY,
    conversation_id   uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role              text NOT NULL CHECK (role IN ('user', 'assistant')),
    content           text NOT NULL DEFAULT '',
    status            text NOT NULL CHECK (status IN ('completed', 'streaming', 'failed', 'cancelled')),
    error_code        text,
    error_message     text,
    -- Position of the message.started event (null when it could not be published).
    epoch             text,
    start_offset      bigint,
    -- Generation ownership (fencing): the Api instance running it and until when its lease holds.
    owner_id          text,
    lease_expires_at  timestamptz,
    output_tokens     int,
    created_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz
);

CREATE INDEX ix_messages_conversation_created ON messages (conversation_id, created_at);

-- The lease sweeper scans only streaming messages.
CREATE INDEX ix_messages_streaming_lease ON messages (lease_expires_at) WHERE status = 'streaming';

-- At most one reply streams per conversation (backs the 409 of POST .../messages against races).
CREATE UNIQUE INDEX ux_messages_one_streaming_per_conversation ON messages (conversation_id) WHERE status = 'streaming';

CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    channel       text NOT NULL,
    type          text NOT NULL,
    message_id    uuid,
    data          jsonb NOT NULL,
    traceparent   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);

CREATE INDEX ix_outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
