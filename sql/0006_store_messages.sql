-- Stores a batch of sent messages in one statement (group commit: the
-- caller answers every sender after this one commit). Same rules as
-- store_message(), set-based:
-- - the batch's chats are locked in id order (every batch does the same, so
--   two batches never deadlock) and each chat's new messages are numbered
--   after its last_seq in the order they appear in the batch;
-- - a retry (same sender and client_id as a stored message, or as an
--   earlier message of the same batch) stores nothing and is answered with
--   the message stored first (created = false);
-- - each new message's sender has seen it.
-- Returns one row per input position (`ord`, from 1) whose chat exists.
CREATE FUNCTION store_messages(p_ids uuid[], p_chat_ids uuid[], p_sender_ids uuid[],
                               p_client_ids uuid[], p_texts text[])
RETURNS TABLE (ord bigint, id uuid, chat_id uuid, seq bigint, stored_at timestamptz, created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM 1 FROM chats c WHERE c.id = ANY (p_chat_ids) ORDER BY c.id FOR UPDATE;
    -- A new statement, so it sees what the batches before this one committed.
    RETURN QUERY
    WITH input AS (
        SELECT i.ord, i.id, i.chat_id, i.sender_id, i.client_id, i.text,
               -- the first position of this sender and client id in the batch
               min(i.ord) OVER (PARTITION BY i.sender_id, i.client_id) AS first_ord
        FROM unnest(p_ids, p_chat_ids, p_sender_ids, p_client_ids, p_texts)
             WITH ORDINALITY AS i (id, chat_id, sender_id, client_id, text, ord)
    ),
    stored AS (
        SELECT i.ord, m.id, m.chat_id, m.seq, m.timestamp
        FROM input i
        JOIN messages m ON m.sender_id = i.sender_id AND m.client_id = i.client_id
    ),
    fresh AS (
        SELECT i.*, c.last_seq + row_number() OVER (PARTITION BY i.chat_id ORDER BY i.ord) AS seq
        FROM input i
        JOIN chats c ON c.id = i.chat_id
        WHERE i.ord = i.first_ord
          AND NOT EXISTS (SELECT 1 FROM stored s WHERE s.ord = i.ord)
    ),
    inserted AS (
        INSERT INTO messages (id, chat_id, sender_id, client_id, text, seq)
        SELECT f.id, f.chat_id, f.sender_id, f.client_id, f.text, f.seq FROM fresh f
    ),
    seen AS (
        INSERT INTO message_seen_status (message_id, user_id)
        SELECT f.id, f.sender_id FROM fresh f
    ),
    numbered AS (
        UPDATE chats c SET last_seq = top.seq
        FROM (SELECT f.chat_id, max(f.seq) AS seq FROM fresh f GROUP BY f.chat_id) top
        WHERE c.id = top.chat_id
    )
    SELECT f.ord, f.id, f.chat_id, f.seq, now(), true FROM fresh f
    UNION ALL
    SELECT s.ord, s.id, s.chat_id, s.seq, s.timestamp, false FROM stored s
    UNION ALL
    SELECT i.ord, f.id, f.chat_id, f.seq, now(), false
    FROM input i
    JOIN fresh f ON f.ord = i.first_ord
    WHERE i.ord > i.first_ord;
END
$$;
