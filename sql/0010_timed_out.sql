-- A connection can also end because its client stopped answering the
-- edge's pings. The new check is added NOT VALID and validated after, so
-- that a long history is checked without blocking new connection rows.
ALTER TABLE connections DROP CONSTRAINT connections_end_reason_check;
ALTER TABLE connections ADD CONSTRAINT connections_end_reason_check CHECK (end_reason IN
    ('client_closed', 'error', 'server_shutdown', 'slow_consumer', 'switched_user', 'logged_out',
     'timed_out')) NOT VALID;
ALTER TABLE connections VALIDATE CONSTRAINT connections_end_reason_check;
