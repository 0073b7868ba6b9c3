-- Stores a batch of messages, each in its chat's turn: locks the chats (in
-- id order, so two batches never wait on each other in a circle), answers a
-- retried (sender, client id) with the message already stored, numbers the
-- new ones after each chat's last seq, and stores nothing from a sender who
-- is not a member of the chat when its turn comes (the database decides
-- membership). A send that may be a retry whose key is gone (`sql/0033`)
-- is answered with a null id. One row per input position, in input order
-- by `ord`; none for a sender who is not a member.
--
-- One plan for every call (`plan_cache_mode`): left to choose, PostgreSQL
-- planned the statement below anew for many calls, taking a plan made for
-- the arrays' sizes for cheaper than the generic one, and planning it was
-- most of what a small batch cost: PostgreSQL's CPU per transaction 2.1
-- against 0.8 ms for one message, 2.4 against 1.1 ms for three; the same
-- (1.6–1.7 ms) for ten, and batches of 500 as fast or faster.
CREATE OR REPLACE FUNCTION store_messages(p_ids uuid[], p_chat_ids uuid[], p_sender_ids uuid[],
                                          p_client_ids uuid[], p_texts text[],
                                          p_written_ats timestamptz[])
RETURNS TABLE (ord bigint, id uuid, chat_id uuid, seq bigint, stored_at timestamptz, created boolean)
LANGUAGE plpgsql
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    PERFORM 1 FROM chats c WHERE c.id = ANY (p_chat_ids) ORDER BY c.id FOR UPDATE;
    -- A new statement, so it sees what the batches before this one committed.
    RETURN QUERY
    WITH sends AS (
        SELECT i.ord, i.id, i.chat_id, i.sender_id, i.client_id, i.text,
               -- as its first position says, for all positions of a send
               first_value(i.written_at) OVER send AS written_at,
               -- the first position of this sender and client id in the batch
               min(i.ord) OVER send AS first_ord
        FROM unnest(p_ids, p_chat_ids, p_sender_ids, p_client_ids, p_texts, p_written_ats)
             WITH ORDINALITY AS i (id, chat_id, sender_id, client_id, text, written_at, ord)
        WINDOW send AS (PARTITION BY i.sender_id, i.client_id ORDER BY i.ord)
    ),
    input AS (
        SELECT s.*, k.message_id AS first_id, k.stale
        FROM sends s CROSS JOIN LATERAL sent_key(s.sender_id, s.client_id, s.written_at) k
    ),
    stored AS (
        SELECT i.ord, m.id, m.chat_id, m.seq, m.timestamp
        FROM input i
        CROSS JOIN LATERAL (
            SELECT m.id, m.chat_id, m.seq, m.timestamp FROM messages m
            WHERE m.id = i.first_id
            LIMIT 1
        ) m
    ),
    fresh AS (
        SELECT i.*, c.last_seq + row_number() OVER (PARTITION BY i.chat_id ORDER BY i.ord) AS seq
        FROM input i
        CROSS JOIN LATERAL (
            SELECT c.last_seq FROM chats c WHERE c.id = i.chat_id LIMIT 1
        ) c
        WHERE i.ord = i.first_ord AND i.first_id IS NULL AND NOT i.stale
          AND EXISTS (
              SELECT 1 FROM chat_members cm
              WHERE cm.chat_id = i.chat_id AND cm.user_id = i.sender_id
          )
    ),
    -- No ON CONFLICT: an attempt of one of these sends to another chat
    -- under way (a client reusing an id) fails the batch, and each of its
    -- messages is then stored alone (`store/writer.rs`).
    keyed AS (
        INSERT INTO sent_keys (sender_id, client_id, message_id)
        SELECT f.sender_id, f.client_id, f.id FROM fresh f
    ),
    inserted AS (
        INSERT INTO messages (id, chat_id, sender_id, client_id, text, seq)
        SELECT f.id, f.chat_id, f.sender_id, f.client_id, f.text, f.seq FROM fresh f
    ),
    numbered AS (
        UPDATE chats c SET last_seq = top.seq, active_at = now()
        FROM (SELECT f.chat_id, max(f.seq) AS seq FROM fresh f GROUP BY f.chat_id) top
        WHERE c.id = top.chat_id
    ),
    -- Not unread for their senders nor for members who block them
    -- (`sql/0032`): one addition per member row.
    counted AS (
        UPDATE chat_members cm SET uncounted = cm.uncounted + n.messages
        FROM (
            SELECT f.chat_id, r.user_id, count(*) AS messages
            FROM fresh f
            CROSS JOIN LATERAL (
                SELECT f.sender_id AS user_id
                UNION ALL
                SELECT b.blocker_id FROM blocks b WHERE b.blocked_id = f.sender_id
            ) r
            GROUP BY f.chat_id, r.user_id
        ) n
        WHERE cm.chat_id = n.chat_id AND cm.user_id = n.user_id
    )
    SELECT f.ord, f.id, f.chat_id, f.seq, now(), true FROM fresh f
    UNION ALL
    SELECT s.ord, s.id, s.chat_id, s.seq, s.timestamp, false FROM stored s
    UNION ALL
    SELECT i.ord, NULL, i.chat_id, NULL, NULL, false FROM input i
    WHERE i.first_id IS NULL AND i.stale
    UNION ALL
    SELECT i.ord, f.id, f.chat_id, f.seq, now(), false
    FROM input i
    JOIN fresh f ON f.ord = i.first_ord
    WHERE i.ord > i.first_ord;
END
$$;
