-- One spelling of an e-mail address.
--
-- Accounts were found by `lower(email) = lower($1)` while the login
-- throttle counted under Rust's lower case of the address; the two differ
-- for some letters (U+0130 lowers to "i" in some locales and to "i" and a
-- combining dot in Rust), so one account had two throttle budgets and two
-- spellings that logged in. From here on the core puts every address in one
-- spelling before it is stored, looked up, counted or searched
-- (core-service/src/email.rs): composed (NFC), ASCII letters in lower case,
-- other letters as they are. The stored addresses are put in that spelling
-- here, and the unique index is on the column itself.
--
-- Two stored addresses that become one spelling (they differed only in
-- composition) both keep the spelling they had rather than fail this
-- migration; such an account is found only if its address already was in
-- the one spelling.

UPDATE users u SET email = n.spelled
FROM (
    SELECT s.id, s.spelled, count(*) OVER (PARTITION BY s.spelled) AS spellings
    FROM (
        SELECT id,
               CASE WHEN current_setting('server_encoding') = 'UTF8'
                    THEN normalize(translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
                                                    'abcdefghijklmnopqrstuvwxyz'), NFC)
                    ELSE translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
                                          'abcdefghijklmnopqrstuvwxyz')
               END AS spelled
        FROM users
    ) s
) n
WHERE u.id = n.id AND n.spellings = 1 AND u.email <> n.spelled;

DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_email_key ON users (email);
