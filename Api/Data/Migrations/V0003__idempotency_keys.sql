-- Idempotency-Key of POST /api/conversations/{id}/messages: the first answer of a key, per user, for
-- Generation:IdempotencyWindow. Written in the transaction that stores the exchange, so a key and its messages exist
-- together or not at all.
CREATE TABLE idempotency_keys (
    user_id          text NOT NULL,
    key              text NOT NULL,
    -- SHA-256 of the request (conversation id and content): the same key with another body is a 422.
    fingerprint      bytea NOT NULL,
    conversation_id  uuid NOT NULL,
    user_message_id  uuid NOT NULL,
    message_id       uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

CREATE INDEX ix_idempotency_keys_created_at ON idempotency_keys (created_at);
