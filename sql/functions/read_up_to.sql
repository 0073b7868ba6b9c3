-- Moves a reader's marker in a chat up to a seq (never back) and marks seen
-- the messages every other member has now seen; the reads of a member the
-- sender blocks never count (no receipts across a block). Returns the
-- marker and the messages that became seen; counts again what after the
-- marker is not unread for the reader.
CREATE OR REPLACE FUNCTION read_up_to(p_chat uuid, p_reader uuid, p_upto bigint)
RETURNS TABLE (read_seq bigint, id uuid, chat_id uuid, sender_id uuid, text text,
               "timestamp" timestamptz, seen boolean, seq bigint, edited_at timestamptz,
               deleted boolean)
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
#variable_conflict use_column
DECLARE
    previous bigint;
    newest bigint;
BEGIN
    SELECT cm.read_seq INTO previous FROM chat_members cm
    WHERE cm.chat_id = p_chat AND cm.user_id = p_reader FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'not a member of chat %', p_chat USING ERRCODE = 'P0002';
    END IF;
    SELECT least(p_upto, c.last_seq) INTO newest FROM chats c WHERE c.id = p_chat;
    IF newest <= previous THEN
        RETURN QUERY SELECT previous, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text,
                            NULL::timestamptz, NULL::boolean, NULL::bigint,
                            NULL::timestamptz, NULL::boolean;
        RETURN;
    END IF;
    -- The member row is locked, so no send or receipt changes what is not
    -- unread for the reader until this commits (`sql/0032`).
    UPDATE chat_members cm
    SET read_seq = newest,
        uncounted = uncounted_after(p_chat, p_reader, greatest(newest, coalesce(cm.cleared_seq, 0)))
    WHERE cm.chat_id = p_chat AND cm.user_id = p_reader;
    PERFORM 1 FROM messages m
    WHERE m.chat_id = p_chat AND m.seq > previous AND m.seq <= newest AND NOT m.seen
    ORDER BY m.seq FOR UPDATE;
    RETURN QUERY
    WITH completed AS (
        UPDATE messages m SET seen = true
        WHERE m.chat_id = p_chat AND m.seq > previous AND m.seq <= newest AND NOT m.seen
          AND NOT EXISTS (
              -- A member who has not seen it, or whom the sender blocks;
              -- statuses and blocks are looked up one by one by their keys
              -- (a LATERAL probe cannot become a scan of them).
              SELECT 1 FROM chat_members cm
              LEFT JOIN LATERAL (
                  SELECT true AS seen FROM message_seen_status s
                  WHERE s.message_id = m.id AND s.user_id = cm.user_id LIMIT 1
              ) status ON true
              LEFT JOIN LATERAL (
                  SELECT true AS blocked FROM blocks b
                  WHERE b.blocker_id = m.sender_id AND b.blocked_id = cm.user_id LIMIT 1
              ) block ON true
              WHERE cm.chat_id = p_chat AND cm.user_id <> m.sender_id
                AND ((cm.read_seq < m.seq AND status.seen IS NULL) OR block.blocked))
        RETURNING m.id, m.chat_id, m.sender_id, m.text, m.timestamp, m.seen, m.seq,
                  m.edited_at, m.deleted_at IS NOT NULL
    )
    SELECT newest, c.* FROM completed c
    UNION ALL
    SELECT newest, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    WHERE NOT EXISTS (SELECT 1 FROM completed);
END $$;
