-- Stores one message (the path of a lone send): takes the chat's next seq
-- under the chat row's lock and gives it back for a retry or a sender who
-- is not a member; a retry is answered with the message stored first. The
-- message is not unread for its sender nor for a member who blocks them
-- (`sql/0032`).
CREATE OR REPLACE FUNCTION store_message(p_id uuid, p_chat_id uuid, p_sender_id uuid, p_client_id uuid, p_text text)
RETURNS TABLE (id uuid, chat_id uuid, seq bigint, stored_at timestamptz, created boolean)
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    next_seq bigint;
BEGIN
    UPDATE chats SET last_seq = last_seq + 1, active_at = now() WHERE chats.id = p_chat_id
    RETURNING last_seq INTO next_seq;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- Membership is checked under the chat's lock, which a removal takes.
    INSERT INTO messages AS m (id, chat_id, sender_id, client_id, text, seq)
    SELECT p_id, p_chat_id, p_sender_id, p_client_id, p_text, next_seq
    WHERE EXISTS (
        SELECT 1 FROM chat_members cm WHERE cm.chat_id = p_chat_id AND cm.user_id = p_sender_id
    )
    ON CONFLICT ON CONSTRAINT messages_sender_client_key DO NOTHING;
    IF FOUND THEN
        UPDATE chat_members cm SET uncounted = cm.uncounted + 1
        WHERE cm.chat_id = p_chat_id
          AND cm.user_id = ANY (p_sender_id || ARRAY(
              SELECT b.blocker_id FROM blocks b WHERE b.blocked_id = p_sender_id));
        RETURN QUERY SELECT p_id, p_chat_id, next_seq, now(), true;
        RETURN;
    END IF;
    -- A retry, or a sender who is not a member (any more): give the number
    -- and the time back (the chat row is still locked, so no one else took
    -- a later one) and answer only a retry of what was stored before.
    UPDATE chats c SET last_seq = c.last_seq - 1,
                       active_at = (SELECT m.timestamp FROM messages m
                                    WHERE m.chat_id = p_chat_id AND m.seq = c.last_seq - 1)
    WHERE c.id = p_chat_id;
    RETURN QUERY
        SELECT m.id, m.chat_id, m.seq, m.timestamp, false FROM messages m
        WHERE m.sender_id = p_sender_id AND m.client_id = p_client_id;
END
$$;
