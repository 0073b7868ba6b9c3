-- Exactly-once sends and per-chat order.

-- A retried send (same sender, same client_id) must not store a second
-- message. NULL client ids (demo data, imports) never conflict.
ALTER TABLE messages ADD CONSTRAINT messages_sender_client_key UNIQUE (sender_id, client_id);

-- Each chat numbers its messages 1, 2, 3, … in the order they are stored,
-- with no gaps: `chats.last_seq` is the last number handed out.
ALTER TABLE chats ADD COLUMN last_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN seq bigint;

UPDATE messages m SET seq = numbered.seq
FROM (SELECT id, row_number() OVER (PARTITION BY chat_id ORDER BY position) AS seq
      FROM messages) numbered
WHERE numbered.id = m.id;
UPDATE chats c SET last_seq = coalesce((SELECT max(seq) FROM messages m WHERE m.chat_id = c.id), 0);

ALTER TABLE messages ALTER COLUMN seq SET NOT NULL;
ALTER TABLE messages ADD CONSTRAINT messages_chat_seq_key UNIQUE (chat_id, seq);

-- Stores one message sent by a client, in one round trip:
-- - the chat row is locked first, so concurrent sends to a chat are numbered
--   one after the other and every number is used exactly once;
-- - a retry of a stored message (same sender and client_id) returns that
--   message (created = false) and stores nothing;
-- - the sender's own seen status is stored with the message.
-- Returns no row when the chat does not exist.
CREATE FUNCTION store_message(p_id uuid, p_chat_id uuid, p_sender_id uuid, p_client_id uuid, p_text text)
RETURNS TABLE (id uuid, chat_id uuid, seq bigint, stored_at timestamptz, created boolean)
LANGUAGE plpgsql AS $$
DECLARE
    next_seq bigint;
BEGIN
    UPDATE chats SET last_seq = last_seq + 1 WHERE chats.id = p_chat_id
    RETURNING last_seq INTO next_seq;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO messages AS m (id, chat_id, sender_id, client_id, text, seq)
    VALUES (p_id, p_chat_id, p_sender_id, p_client_id, p_text, next_seq)
    ON CONFLICT ON CONSTRAINT messages_sender_client_key DO NOTHING;
    IF FOUND THEN
        INSERT INTO message_seen_status (message_id, user_id) VALUES (p_id, p_sender_id);
        RETURN QUERY SELECT p_id, p_chat_id, next_seq, now(), true;
        RETURN;
    END IF;
    -- A retry: give the number back (the chat row is still locked, so no
    -- one else took a later one) and answer with the stored message.
    UPDATE chats SET last_seq = last_seq - 1 WHERE chats.id = p_chat_id;
    RETURN QUERY
        SELECT m.id, m.chat_id, m.seq, m.timestamp, false FROM messages m
        WHERE m.sender_id = p_sender_id AND m.client_id = p_client_id;
END
$$;
