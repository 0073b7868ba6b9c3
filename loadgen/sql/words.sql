-- Fills a populated messenger database with chats whose words are as
-- varied as people's, for the search benchmark of docs/performance.md
-- ("Finding messages on 10 million"):
--
--   loadgen gen --users 1000 --groups 1000 --group-size 10 --out data.json
--   messenger-core populate data.json               (into an empty database)
--   psql "$DATABASE_URL" -v reader=<e-mail> -f loadgen/sql/words.sql
--
-- - adds the user `reader` to groups until they are in `chats` chats
--   (default 100);
-- - gives every chat `per_chat` more messages (default 10,000): each text
--   one of 200,000 sentences of 5 to 14 words drawn log-uniformly from
--   10,000 made-up words, so the most common word is in about half the
--   messages, the 100th in about 1 %, the 5,000th in a few per 10,000;
-- - commits every 50 chats and reports progress; ends with ANALYZE.
--
-- The words' index is not written here: a core indexes these messages
-- when it starts (it finds every chat behind), and search reads the text
-- of what it has not indexed yet. Run it with no core running, or restart
-- the core afterwards (its caches do not see rows written behind it).

\set ON_ERROR_STOP on
\if :{?chats}
\else
  \set chats 100
\endif
\if :{?per_chat}
\else
  \set per_chat 10000
\endif
SELECT set_config('words.reader', :'reader', false),
       set_config('words.chats', :'chats', false),
       set_config('words.per_chat', :'per_chat', false);
SET session_replication_role = replica;

DO $$
DECLARE
    reader uuid := (SELECT id FROM users WHERE email = current_setting('words.reader'));
    wanted int := current_setting('words.chats')::int;
BEGIN
    IF reader IS NULL THEN
        RAISE EXCEPTION 'no user with the e-mail %', current_setting('words.reader');
    END IF;
    INSERT INTO chat_members (chat_id, user_id)
        SELECT g.chat_id, reader FROM groups g
        WHERE NOT EXISTS (SELECT 1 FROM chat_members m
                          WHERE m.chat_id = g.chat_id AND m.user_id = reader)
        ORDER BY g.chat_id
        LIMIT greatest(wanted - (SELECT count(*) FROM chat_members WHERE user_id = reader), 0);
    INSERT INTO user_groups (group_id, user_id)
        SELECT g.id, reader FROM groups g
        JOIN chat_members m ON m.chat_id = g.chat_id AND m.user_id = reader
        ON CONFLICT DO NOTHING;
END
$$;

-- The words: w1 … w10000, word k drawn with probability ∝ 1/k.
CREATE TEMP TABLE vocabulary AS
    SELECT k, 'w' || k AS word,
           sum(1.0 / k) OVER (ORDER BY k) / sum(1.0 / k) OVER () AS upto
    FROM generate_series(1, 10000) k;
CREATE INDEX ON vocabulary (upto);
SELECT setseed(0.42);
CREATE TEMP TABLE sentences AS
    SELECT d.n, string_agg(v.word, ' ' ORDER BY d.i) AS text
    FROM (SELECT n, i, random() AS r
          FROM generate_series(0, 199999) n, generate_series(1, 5 + (n * 7919) % 10) i) d
    CROSS JOIN LATERAL (SELECT word FROM vocabulary WHERE upto >= d.r
                        ORDER BY upto LIMIT 1) v
    GROUP BY d.n;
CREATE INDEX ON sentences (n);

DO $$
DECLARE
    per_chat bigint := current_setting('words.per_chat')::bigint;
    chunk uuid[];
    done int := 0;
    total int := (SELECT count(*) FROM chats);
BEGIN
    FOR chunk IN
        SELECT array_agg(id) FROM (
            SELECT id, (row_number() OVER (ORDER BY id) - 1) / 50 AS part FROM chats
        ) numbered GROUP BY part ORDER BY part
    LOOP
        WITH plan AS (
            SELECT c.id AS chat_id, c.last_seq,
                   ARRAY(SELECT user_id FROM chat_members m WHERE m.chat_id = c.id
                         ORDER BY user_id) AS members
            FROM chats c WHERE c.id = ANY (chunk)
        ), added AS (
            INSERT INTO messages (id, chat_id, sender_id, client_id, text, timestamp, seen, seq)
            SELECT gen_random_uuid(), x.chat_id, x.sender_id, gen_random_uuid(), s.text,
                   now() - interval '365 days' * (1 - x.n::float8 / (per_chat + 1)),
                   true, x.last_seq + x.n
            FROM (SELECT p.chat_id, p.last_seq, n,
                         p.members[1 + floor(random() * cardinality(p.members))::int] AS sender_id,
                         floor(random() * 200000)::int AS pick
                  FROM plan p, generate_series(1, per_chat) n
                  WHERE cardinality(p.members) > 0) x
            JOIN sentences s ON s.n = x.pick
            RETURNING id, chat_id, sender_id, client_id, timestamp
        ), keyed AS (
            -- What the send path keeps (sql/0033): the keys of the last
            -- eight days, each in the partition of its day.
            INSERT INTO sent_keys (sender_id, client_id, message_id, kept_at)
            SELECT a.sender_id, a.client_id, a.id, a.timestamp FROM added a
            WHERE a.timestamp >= date_trunc('day', now() - interval '8 days', 'UTC')
        ), counted AS (
            -- What the send path keeps (sql/0032): a message is not
            -- unread for its sender.
            UPDATE chat_members cm SET uncounted = cm.uncounted + x.n
            FROM (SELECT chat_id, sender_id, count(*) AS n FROM added GROUP BY 1, 2) x
            WHERE cm.chat_id = x.chat_id AND cm.user_id = x.sender_id
        )
        UPDATE chats c SET last_seq = c.last_seq + per_chat,
                           active_at = greatest(c.active_at, now() - interval '365 days' / (per_chat + 1))
        FROM plan p WHERE c.id = p.chat_id AND cardinality(p.members) > 0;
        COMMIT;
        done := done + cardinality(chunk);
        RAISE NOTICE '% of % chats filled', done, total;
    END LOOP;
END
$$;

RESET session_replication_role;
ANALYZE;
SELECT (SELECT count(*) FROM chats) AS chats,
       (SELECT count(*) FROM messages) AS messages;
