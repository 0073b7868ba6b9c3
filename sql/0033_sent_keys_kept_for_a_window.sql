-- Idempotency keys kept for a bounded window. A retried send (same sender
-- and `client_id`) was answered through a unique index on `messages`; its
-- key starts with the sender and goes on with an id the client chose at
-- random, so every send wrote a random leaf of an index as large as all
-- history (615 MB at 10 million messages), and a grown database stored
-- messages at 52–90 % of a fresh one's rate.
--
-- Now the keys live in `sent_keys`, one partition per UTC day by the time
-- a key was stored, each with its own unique index; a send writes today's.
-- A partition is dropped whole once every key in it is older than the
-- window (`keep_sent_keys`, `sql/functions/`), so what a send touches is
-- sized by a week's traffic, not by history.
--
-- The promise that holds it together (`docs/protocol.md`): a send carries
-- the client's time of writing (`timestamp`), at most a day ahead of the
-- server's clock (the core refuses more). Its key, when stored, therefore
-- went into a partition no older than that time minus a day. The horizon
-- below is where the kept keys begin; a send is refused as `stale_retry`
-- when its time minus a day is before the horizon and no key is found,
-- because its first attempt's key may be gone. Inside the window a retry
-- is always answered with the message stored first.
CREATE TABLE sent_keys (
    sender_id  uuid NOT NULL,
    client_id  uuid NOT NULL,
    message_id uuid NOT NULL,
    kept_at    timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (kept_at);

-- One row: keys stored before `kept_since` may have been dropped. It moves
-- forward (`moved_at`) before a partition is dropped, and the drop waits
-- long enough after it for every send that read the old value to be over.
CREATE TABLE sent_keys_horizon (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    kept_since timestamptz NOT NULL,
    moved_at   timestamptz NOT NULL DEFAULT now()
);

-- Creates the partition of one UTC day (and its unique index) unless it
-- exists. Unique per partition: PostgreSQL cannot enforce a unique key
-- across partitions without the partition key in it, so a retry finds its
-- first attempt by looking in every partition it may be in; two attempts
-- at once of one send in one chat are ordered by the chat's row lock.
CREATE FUNCTION add_sent_keys_day(p_day date) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    name text := 'sent_keys_' || to_char(p_day, 'YYYYMMDD');
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF sent_keys FOR VALUES FROM (%L) TO (%L)',
                   name, p_day::timestamp AT TIME ZONE 'UTC',
                   (p_day + 1)::timestamp AT TIME ZONE 'UTC');
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I (sender_id, client_id)', name || '_key', name);
END
$$;

-- The keys of the messages of the last eight days (the default window and
-- the day a client's clock may be ahead) move over; what is older is
-- behind the horizon. With no older message, nothing was ever forgotten.
DO $$
DECLARE
    cutoff timestamptz := date_trunc('day', now() - interval '8 days', 'UTC');
    day date;
BEGIN
    FOR day IN
        SELECT generate_series((cutoff AT TIME ZONE 'UTC')::date,
                               (now() AT TIME ZONE 'UTC')::date + 2, interval '1 day')::date
    LOOP
        PERFORM add_sent_keys_day(day);
    END LOOP;
    INSERT INTO sent_keys (sender_id, client_id, message_id, kept_at)
    SELECT m.sender_id, m.client_id, m.id, m.timestamp
    FROM messages m
    WHERE m.timestamp >= cutoff AND m.client_id IS NOT NULL
      AND m.timestamp < ((now() AT TIME ZONE 'UTC')::date + 3)::timestamp AT TIME ZONE 'UTC'
    ON CONFLICT DO NOTHING;
    INSERT INTO sent_keys_horizon (kept_since)
    SELECT CASE WHEN EXISTS (SELECT 1 FROM messages m WHERE m.timestamp < cutoff)
                THEN cutoff ELSE '-infinity' END;
END
$$;

ALTER TABLE messages DROP CONSTRAINT messages_sender_client_key;

-- The old functions took no time of writing (the new ones are in
-- `sql/functions/`).
DROP FUNCTION IF EXISTS store_message(uuid, uuid, uuid, uuid, text);
DROP FUNCTION IF EXISTS store_messages(uuid[], uuid[], uuid[], uuid[], text[]);
DROP FUNCTION IF EXISTS store_message_with_attachments(uuid, uuid, uuid, uuid, text, uuid[]);
