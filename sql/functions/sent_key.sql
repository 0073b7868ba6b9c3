-- What is known of the send `p_client_id` of `p_sender_id`, written at
-- `p_written_at` by the client's clock (`sql/0033`): `message_id`, the
-- message it stored, if its key is kept; else `stale`, whether its key
-- may be forgotten (it would be older than the horizon), so storing it
-- might store a message twice. One row. A key was stored no earlier than
-- a day before its time of writing, so only the partitions from then on
-- are read; without a time of writing, all of them. (A table function of
-- one SELECT: PostgreSQL inlines it into the statements that use it.)
CREATE OR REPLACE FUNCTION sent_key(p_sender_id uuid, p_client_id uuid, p_written_at timestamptz)
RETURNS TABLE (message_id uuid, stale boolean)
LANGUAGE sql STABLE
AS $$
    SELECT k.message_id,
           k.message_id IS NULL AND coalesce(p_written_at - interval '1 day' < h.kept_since, false)
    FROM sent_keys_horizon h
    LEFT JOIN LATERAL (
        SELECT k.message_id FROM sent_keys k
        WHERE k.sender_id = p_sender_id AND k.client_id = p_client_id
          AND k.kept_at >= coalesce(p_written_at - interval '1 day', '-infinity')
        LIMIT 1
    ) k ON true
    WHERE h.one
$$;
