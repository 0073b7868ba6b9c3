-- Connection history: one row per logged-in connection (per device).

CREATE TABLE connections (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    started_at     timestamptz NOT NULL DEFAULT now(),
    ended_at       timestamptz,
    client_address text,
    user_agent     text,
    -- Which edge served it.
    edge           text,
    end_reason     text CHECK (end_reason IN
        ('client_closed', 'error', 'server_shutdown', 'slow_consumer', 'switched_user'))
);
CREATE INDEX connections_user_idx ON connections (user_id, started_at DESC);
