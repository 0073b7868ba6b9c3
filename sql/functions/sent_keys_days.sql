-- The partitions of `sent_keys`, by their day.
CREATE OR REPLACE FUNCTION sent_keys_days()
RETURNS TABLE (name text, day date)
LANGUAGE sql STABLE
AS $$
    SELECT c.relname::text, to_date(substring(c.relname FROM 11), 'YYYYMMDD')
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'sent_keys'::regclass
$$;
