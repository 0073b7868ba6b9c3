-- Keeps `sent_keys` (`sql/0033`) for `p_window`: adds the partitions of
-- today and the next two days, and forgets what is older than the window
-- and the day a client's clock may be ahead, in two steps an hour apart
-- (two calls at least ten minutes apart): first the horizon moves past the partitions
-- to forget, then, once no send can still hold the old horizon, they are
-- dropped. Dropping a partition briefly locks the whole table, so it
-- waits for that lock at most a moment and is tried again at the next
-- call. Several cores may call it at once: one does the work. Answers how
-- many partitions it dropped.
CREATE OR REPLACE FUNCTION keep_sent_keys(p_window interval)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    cutoff timestamptz := date_trunc('day', now() - p_window - interval '1 day', 'UTC');
    horizon sent_keys_horizon%ROWTYPE;
    forget timestamptz;
    part record;
    dropped integer := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('keep_sent_keys')) THEN
        RETURN 0;
    END IF;
    FOR d IN 0..2 LOOP
        PERFORM add_sent_keys_day(today + d);
    END LOOP;
    SELECT max(p.ends_at) INTO forget FROM sent_keys_days() p WHERE p.ends_at <= cutoff;
    IF forget IS NULL THEN
        RETURN 0;
    END IF;
    SELECT * INTO horizon FROM sent_keys_horizon FOR UPDATE;
    IF horizon.kept_since < forget THEN
        UPDATE sent_keys_horizon SET kept_since = forget, moved_at = now();
        RETURN 0;
    END IF;
    IF horizon.moved_at > now() - interval '10 minutes' THEN
        RETURN 0;
    END IF;
    BEGIN
        SET LOCAL lock_timeout = '200ms';
        FOR part IN
            SELECT p.name FROM sent_keys_days() p WHERE p.ends_at <= horizon.kept_since
        LOOP
            EXECUTE format('DROP TABLE %I', part.name);
            dropped := dropped + 1;
        END LOOP;
    EXCEPTION WHEN lock_not_available THEN
        RAISE NOTICE 'sent_keys: a partition was busy; dropping it later';
        dropped := 0;
    END;
    RETURN dropped;
END
$$;
