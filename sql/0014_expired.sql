-- A connection can also end because the credential it was opened with
-- expired (an access token lives minutes).
ALTER TABLE connections DROP CONSTRAINT connections_end_reason_check;
ALTER TABLE connections ADD CONSTRAINT connections_end_reason_check CHECK (end_reason IN
    ('client_closed', 'error', 'server_shutdown', 'slow_consumer', 'switched_user', 'logged_out',
     'timed_out', 'expired')) NOT VALID;
ALTER TABLE connections VALIDATE CONSTRAINT connections_end_reason_check;
