-- A connection can also end because its login was revoked (logout).
ALTER TABLE connections DROP CONSTRAINT connections_end_reason_check;
ALTER TABLE connections ADD CONSTRAINT connections_end_reason_check CHECK (end_reason IN
    ('client_closed', 'error', 'server_shutdown', 'slow_consumer', 'switched_user', 'logged_out'));
