-- Files sent in messages. `media` holds each distinct content once, named
-- by the SHA-256 of the bytes uploaded (identical uploads share it); the
-- object store holds its bytes (and an image's thumbnail) under that name.
-- `attachments` is one upload by one user: its name, and the message it
-- was sent in (none until sent). The database says who may see a file;
-- the object store only keeps bytes.
CREATE TABLE media (
    digest bytea PRIMARY KEY CHECK (length(digest) = 32),
    -- What is served: an image's bytes without their metadata.
    size bigint NOT NULL CHECK (size > 0),
    content_type text NOT NULL,
    width integer,
    height integer,
    -- The thumbnail's bytes, for images; none for other files.
    thumbnail_size bigint,
    -- Last taken by an upload: content no attachment uses is collected a
    -- while after this, never while an upload may be about to use it.
    used_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_used_at_idx ON media (used_at);

CREATE TABLE attachments (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest bytea NOT NULL REFERENCES media (digest),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    -- The message it was sent in; a message's deletion deletes it.
    message_id uuid REFERENCES messages (id) ON DELETE CASCADE
);
-- A user's storage (the quota) and uploads never sent (collected).
CREATE INDEX attachments_owner_idx ON attachments (owner_id);
CREATE INDEX attachments_unsent_idx ON attachments (uploaded_at) WHERE message_id IS NULL;
-- Whether content is still used, and a message's files.
CREATE INDEX attachments_digest_idx ON attachments (digest);
CREATE INDEX attachments_message_idx ON attachments (message_id) WHERE message_id IS NOT NULL;

-- A message's files as clients see them, written once when it is stored
-- (history, sync and search read them with the message, no join).
ALTER TABLE messages ADD COLUMN attachments jsonb;
