-- Read markers: "read up to seq N in this chat", what a client sends when a
-- chat is opened. A member has seen a message when its seq is at most their
-- `read_seq`, or when a `message_seen_status` row says so (a receipt for
-- that one message). The marker only moves forward.
ALTER TABLE chat_members ADD COLUMN read_seq bigint NOT NULL DEFAULT 0;

-- Moves `p_reader`'s marker in `p_chat` to `p_upto` (at most the chat's
-- last seq) and flips `seen` on every message this completes, in one
-- round trip however many messages it covers.
--
-- Returns one row per message that became seen by every member, each with
-- the reader's marker after the call; when none did, a single row with the
-- marker and no message. Raises P0002 when the reader is not a member.
--
-- Exactly once, as for single receipts: the messages in the range that are
-- not seen yet are locked in seq order before the completeness check, which
-- is a statement of its own (so it sees every receipt and marker committed
-- while it waited); a single receipt locks its message the same way, and
-- two markers lock their common messages in the same order.
CREATE FUNCTION read_up_to(p_chat uuid, p_reader uuid, p_upto bigint)
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
    UPDATE chat_members cm SET read_seq = newest
    WHERE cm.chat_id = p_chat AND cm.user_id = p_reader;
    PERFORM 1 FROM messages m
    WHERE m.chat_id = p_chat AND m.seq > previous AND m.seq <= newest AND NOT m.seen
    ORDER BY m.seq FOR UPDATE;
    RETURN QUERY
    WITH completed AS (
        UPDATE messages m SET seen = true
        WHERE m.chat_id = p_chat AND m.seq > previous AND m.seq <= newest AND NOT m.seen
          AND NOT EXISTS (
              -- A member who has not seen it; the statuses are looked up
              -- one by one (a LATERAL probe cannot become a scan of them).
              SELECT 1 FROM chat_members cm
              LEFT JOIN LATERAL (
                  SELECT true AS seen FROM message_seen_status s
                  WHERE s.message_id = m.id AND s.user_id = cm.user_id LIMIT 1
              ) status ON true
              WHERE cm.chat_id = p_chat AND cm.user_id <> m.sender_id AND cm.read_seq < m.seq
                AND status.seen IS NULL)
        RETURNING m.id, m.chat_id, m.sender_id, m.text, m.timestamp, m.seen, m.seq,
                  m.edited_at, m.deleted_at IS NOT NULL
    )
    SELECT newest, c.* FROM completed c
    UNION ALL
    SELECT newest, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    WHERE NOT EXISTS (SELECT 1 FROM completed);
END $$;
