-- Stores one message that carries files: as `store_message`, and takes the
-- sender's uploads `p_attachments` (in that order) into it under their
-- row locks, so that one upload goes into one message only. Raises
-- MSA01 when an upload is unknown or someone else's, MSA02 when it was
-- already sent in another message, MSK01 when the send may be a retry
-- whose key is gone (`sql/0033`), MSK02 when its client id was taken at
-- the same moment by a send to another chat; a retry of the message is
-- answered with the one stored first.
CREATE OR REPLACE FUNCTION store_message_with_attachments(p_id uuid, p_chat_id uuid, p_sender_id uuid,
                                                          p_client_id uuid, p_text text,
                                                          p_attachments uuid[], p_written_at timestamptz)
RETURNS TABLE (id uuid, chat_id uuid, seq bigint, stored_at timestamptz, created boolean)
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
#variable_conflict use_column
DECLARE
    next_seq bigint;
    taken integer;
    first_id uuid;
    stale boolean;
BEGIN
    PERFORM 1 FROM attachments a WHERE a.id = ANY (p_attachments) ORDER BY a.id FOR UPDATE;
    -- After the locks, so that a retry racing its first attempt sees it.
    SELECT k.message_id, k.stale INTO first_id, stale
    FROM sent_key(p_sender_id, p_client_id, p_written_at) k;
    IF first_id IS NOT NULL THEN
        RETURN QUERY SELECT m.id, m.chat_id, m.seq, m.timestamp, false FROM messages m
                     WHERE m.id = first_id;
        RETURN;
    END IF;
    IF stale THEN
        RAISE EXCEPTION 'stale retry' USING ERRCODE = 'MSK01';
    END IF;
    IF (SELECT count(*) FROM attachments a
        WHERE a.id = ANY (p_attachments) AND a.owner_id = p_sender_id) <> cardinality(p_attachments) THEN
        RAISE EXCEPTION 'unknown attachment' USING ERRCODE = 'MSA01';
    END IF;
    SELECT count(*) INTO taken FROM attachments a
    WHERE a.id = ANY (p_attachments) AND a.message_id IS NOT NULL;
    IF taken > 0 THEN
        RAISE EXCEPTION 'attachment already sent' USING ERRCODE = 'MSA02';
    END IF;
    UPDATE chats SET last_seq = last_seq + 1, active_at = now() WHERE chats.id = p_chat_id
    RETURNING last_seq INTO next_seq;
    IF NOT FOUND OR NOT EXISTS (
        SELECT 1 FROM chat_members cm WHERE cm.chat_id = p_chat_id AND cm.user_id = p_sender_id
    ) THEN
        -- Not a member: nothing is stored (the whole call rolls back).
        RAISE EXCEPTION 'not a member' USING ERRCODE = 'MSA03';
    END IF;
    INSERT INTO sent_keys (sender_id, client_id, message_id)
    VALUES (p_sender_id, p_client_id, p_id)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'client id taken' USING ERRCODE = 'MSK02';
    END IF;
    INSERT INTO messages (id, chat_id, sender_id, client_id, text, seq, attachments)
    SELECT p_id, p_chat_id, p_sender_id, p_client_id, p_text, next_seq,
           jsonb_agg(jsonb_build_object(
               'id', a.id, 'name', a.name, 'size', md.size, 'content_type', md.content_type,
               'width', md.width, 'height', md.height) ORDER BY u.ord)
    FROM unnest(p_attachments) WITH ORDINALITY AS u (id, ord)
    JOIN attachments a ON a.id = u.id
    JOIN media md ON md.digest = a.digest;
    UPDATE attachments a SET message_id = p_id WHERE a.id = ANY (p_attachments);
    -- Not unread for its sender nor for a member who blocks them (`sql/0032`).
    UPDATE chat_members cm SET uncounted = cm.uncounted + 1
    WHERE cm.chat_id = p_chat_id
      AND cm.user_id = ANY (p_sender_id || ARRAY(
          SELECT b.blocker_id FROM blocks b WHERE b.blocked_id = p_sender_id));
    RETURN QUERY SELECT p_id, p_chat_id, next_seq, now(), true;
END
$$;
