-- The partitions of `sent_keys`, each with the end of its day (UTC).
CREATE OR REPLACE FUNCTION sent_keys_days()
RETURNS TABLE (name text, ends_at timestamptz)
LANGUAGE sql STABLE
AS $$
    SELECT c.relname::text,
           (to_date(substring(c.relname FROM 11), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC'
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'sent_keys'::regclass
$$;
