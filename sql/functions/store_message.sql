-- Stores one message (the path of a lone send): takes the chat's next seq
-- under the chat row's lock and gives it back for a retry or a sender who
-- is not a member; a retry is answered with the message stored first.
CREATE OR REPLACE FUNCTION store_message(p_id uuid, p_chat_id uuid, p_sender_id uuid, p_client_id uuid, p_text text)
RETURNS TABLE (id uuid, chat_id uuid, seq bigint, stored_at timestamptz, created boolean)
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    next_seq bigint;
BEGIN
    UPDATE chats SET last_seq = last_seq + 1 WHERE chats.id = p_chat_id
    RETURNING last_seq INTO next_seq;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM chat_members cm WHERE cm.chat_id = p_chat_id AND cm.user_id = p_sender_id
    ) THEN
        -- Not a member (any more): give the number back, and answer only a
        -- retry of what was stored before.
        UPDATE chats SET last_seq = last_seq - 1 WHERE chats.id = p_chat_id;
        RETURN QUERY
            SELECT m.id, m.chat_id, m.seq, m.timestamp, false FROM messages m
            WHERE m.sender_id = p_sender_id AND m.client_id = p_client_id;
        RETURN;
    END IF;
    INSERT INTO messages AS m (id, chat_id, sender_id, client_id, text, seq)
    VALUES (p_id, p_chat_id, p_sender_id, p_client_id, p_text, next_seq)
    ON CONFLICT ON CONSTRAINT messages_sender_client_key DO NOTHING;
    IF FOUND THEN
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
