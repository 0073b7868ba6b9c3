-- Stores one message (the path of a lone send): takes the chat's next seq
-- under the chat row's lock and gives it back for a retry, a stale send or
-- a sender who is not a member; a retry is answered with the message
-- stored first, a stale send (`sql/0033`) with a row whose id is null.
-- The message is not unread for its sender nor for a member who blocks
-- them (`sql/0032`).
CREATE OR REPLACE FUNCTION store_message(p_id uuid, p_chat_id uuid, p_sender_id uuid, p_client_id uuid,
                                         p_text text, p_written_at timestamptz)
RETURNS TABLE (id uuid, chat_id uuid, seq bigint, stored_at timestamptz, created boolean)
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    next_seq bigint;
    first_id uuid;
    stale boolean;
BEGIN
    UPDATE chats SET last_seq = last_seq + 1, active_at = now() WHERE chats.id = p_chat_id
    RETURNING last_seq INTO next_seq;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT k.message_id, k.stale INTO first_id, stale
    FROM sent_key(p_sender_id, p_client_id, p_written_at) k;
    IF first_id IS NULL AND NOT stale THEN
        -- Membership is checked under the chat's lock, which a removal
        -- takes. The key's index orders this with an attempt of the same
        -- send to another chat (a client reusing an id).
        INSERT INTO sent_keys (sender_id, client_id, message_id)
        SELECT p_sender_id, p_client_id, p_id
        WHERE EXISTS (
            SELECT 1 FROM chat_members cm WHERE cm.chat_id = p_chat_id AND cm.user_id = p_sender_id
        )
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            INSERT INTO messages (id, chat_id, sender_id, client_id, text, seq)
            VALUES (p_id, p_chat_id, p_sender_id, p_client_id, p_text, next_seq);
            UPDATE chat_members cm SET uncounted = cm.uncounted + 1
            WHERE cm.chat_id = p_chat_id
              AND cm.user_id = ANY (p_sender_id || ARRAY(
                  SELECT b.blocker_id FROM blocks b WHERE b.blocked_id = p_sender_id));
            RETURN QUERY SELECT p_id, p_chat_id, next_seq, now(), true;
            RETURN;
        END IF;
        SELECT k.message_id INTO first_id FROM sent_key(p_sender_id, p_client_id, p_written_at) k;
    END IF;
    -- Not stored: give the number and the time back (the chat row is
    -- still locked, so no one else took a later one).
    UPDATE chats c SET last_seq = c.last_seq - 1,
                       active_at = (SELECT m.timestamp FROM messages m
                                    WHERE m.chat_id = p_chat_id AND m.seq = c.last_seq - 1)
    WHERE c.id = p_chat_id;
    IF first_id IS NOT NULL THEN
        RETURN QUERY SELECT m.id, m.chat_id, m.seq, m.timestamp, false FROM messages m
                     WHERE m.id = first_id;
    ELSIF stale THEN
        RETURN QUERY SELECT NULL::uuid, p_chat_id, NULL::bigint, NULL::timestamptz, false;
    END IF;
END
$$;
