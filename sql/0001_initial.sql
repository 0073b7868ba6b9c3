-- The messenger's data model (see docs/data-model.md).
-- Table names are plural because `user` and `group` are reserved words.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    email         text NOT NULL,
    -- Argon2id in PHC string form; the plain password is never stored.
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Emails are unique whatever their case; login looks them up the same way.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE chats (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    -- 0 personal, 1 group
    type       smallint NOT NULL CHECK (type IN (0, 1)),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chat_members (
    chat_id uuid NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (chat_id, user_id)
);
-- A user's chats.
CREATE INDEX chat_members_user_idx ON chat_members (user_id, chat_id);

CREATE TABLE groups (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    creator_id uuid NOT NULL REFERENCES users (id),
    chat_id    uuid NOT NULL UNIQUE REFERENCES chats (id) ON DELETE CASCADE
);

CREATE TABLE user_groups (
    group_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX user_groups_user_idx ON user_groups (user_id);

CREATE TABLE messages (
    -- Storage order: history is read in this order.
    position  bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id        uuid PRIMARY KEY,
    chat_id   uuid NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    sender_id uuid NOT NULL REFERENCES users (id),
    -- The id the sending client chose, when the message came from a client.
    client_id uuid,
    text      text NOT NULL,
    -- The server's clock when the message was stored.
    timestamp timestamptz NOT NULL DEFAULT now(),
    -- True once every member of the chat has seen the message.
    seen      boolean NOT NULL DEFAULT false
);
-- A chat's messages in storage order (history pages).
CREATE INDEX messages_chat_position_idx ON messages (chat_id, position);

CREATE TABLE message_seen_status (
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seen_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, user_id)
);
