-- The message stored by `p_sender_id` under `p_client_id`, if its key is
-- kept. A send's key was stored no earlier than a day before the client's
-- time of writing `p_written_at` (`sql/0033`), so only the partitions from
-- then on are read; without a time of writing, all of them.
CREATE OR REPLACE FUNCTION sent_message_id(p_sender_id uuid, p_client_id uuid, p_written_at timestamptz)
RETURNS uuid
LANGUAGE sql STABLE
AS $$
    SELECT k.message_id FROM sent_keys k
    WHERE k.sender_id = p_sender_id AND k.client_id = p_client_id
      AND k.kept_at >= coalesce(p_written_at - interval '1 day', '-infinity')
    LIMIT 1
$$;

-- Whether a send written at `p_written_at` whose key is not found may be a
-- retry whose key is gone: its key would be older than the horizon.
CREATE OR REPLACE FUNCTION retry_is_stale(p_written_at timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(p_written_at - interval '1 day' < h.kept_since, false)
    FROM sent_keys_horizon h
$$;
