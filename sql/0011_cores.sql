-- The cores serving this database. Each renews its row every few seconds;
-- a core whose row is old is gone (killed), and the connections it left
-- open are ended by one that is not, without touching its peers' ones.
CREATE TABLE cores (
    id         uuid PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    seen_at    timestamptz NOT NULL DEFAULT now()
);

-- The core that serves (or served) the connection; NULL for connections
-- recorded before cores had ids.
ALTER TABLE connections ADD COLUMN core_id uuid;
-- The open connections, by core.
CREATE INDEX connections_open_idx ON connections (core_id) WHERE ended_at IS NULL;
