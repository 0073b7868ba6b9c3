-- Grows a populated messenger database into the state a busy deployment
-- reaches: more group chats, and long histories in every chat. Used by the
-- benchmarks in docs/performance.md ("A grown database").
--
--   psql "$DATABASE_URL" -v chats=5000 -v messages=10000000 -f loadgen/sql/grow.sql
--
-- - adds group chats of five users picked from the existing users until
--   there are `chats` chats (default 5,000);
-- - gives every chat `messages / chats` messages in all (default 10
--   million messages), numbered on from its last number, sent by its
--   members over the past year; every message is seen by every member
--   (a seen row for each member but the sender, whose status is implied)
--   but the newest 20 of each chat, which only their senders have seen;
--   keeps each chat's `active_at` and each member's `uncounted` as the
--   send path does (sql/0032);
-- - commits every 100 chats and reports progress; ends with ANALYZE, as
--   `populate` does.
--
-- Foreign-key triggers are skipped during the load (session_replication_role
-- = replica, which needs a superuser): every reference is made from rows
-- that exist. Run it with no core running, or restart the core afterwards:
-- the core's caches (membership, recent messages) do not see rows written
-- behind its back.

\set ON_ERROR_STOP on
\if :{?chats}
\else
  \set chats 5000
\endif
\if :{?messages}
\else
  \set messages 10000000
\endif
SELECT set_config('grow.chats', :'chats', false),
       set_config('grow.messages', :'messages', false);
SET session_replication_role = replica;

DO $$
DECLARE
    wanted int := current_setting('grow.chats')::int;
    missing int := wanted - (SELECT count(*) FROM chats);
    users uuid[] := ARRAY(SELECT id FROM users ORDER BY id);
BEGIN
    IF cardinality(users) < 5 THEN
        RAISE EXCEPTION 'grow.sql needs at least 5 users; populate a data set first';
    END IF;
    PERFORM setseed(0.42);
    CREATE TEMP TABLE new_chats ON COMMIT DROP AS
        SELECT gen_random_uuid() AS chat_id, gen_random_uuid() AS group_id, n
        FROM generate_series(1, greatest(missing, 0)) n;
    INSERT INTO chats (id, name, type) SELECT chat_id, 'grown ' || n, 1 FROM new_chats;
    -- Five distinct users per chat: a random start and a random odd stride.
    CREATE TEMP TABLE new_members ON COMMIT DROP AS
        SELECT c.chat_id, c.group_id,
               users[1 + (c.start + k * c.stride) % cardinality(users)] AS user_id, k
        FROM (SELECT chat_id, group_id,
                     floor(random() * cardinality(users))::int AS start,
                     1 + 2 * floor(random() * ((cardinality(users) - 1) / 8))::int AS stride
              FROM new_chats) c,
             generate_series(0, 4) k;
    INSERT INTO chat_members (chat_id, user_id)
        SELECT DISTINCT chat_id, user_id FROM new_members;
    INSERT INTO groups (id, name, creator_id, chat_id)
        SELECT m.group_id, 'grown ' || c.n, m.user_id, m.chat_id
        FROM new_members m JOIN new_chats c USING (chat_id) WHERE m.k = 0;
    INSERT INTO user_groups (group_id, user_id)
        SELECT DISTINCT group_id, user_id FROM new_members;
    RAISE NOTICE 'added % group chats', greatest(missing, 0);
END
$$;

DO $$
DECLARE
    per_chat bigint := current_setting('grow.messages')::bigint
                       / greatest((SELECT count(*) FROM chats), 1);
    chunk uuid[];
    done int := 0;
    total int := (SELECT count(*) FROM chats);
BEGIN
    FOR chunk IN
        SELECT array_agg(id) FROM (
            SELECT id, (row_number() OVER (ORDER BY id) - 1) / 100 AS part FROM chats
        ) numbered GROUP BY part ORDER BY part
    LOOP
        WITH plan AS (
            SELECT c.id AS chat_id, c.last_seq,
                   greatest(per_chat - c.last_seq, 0) AS adding,
                   ARRAY(SELECT user_id FROM chat_members m WHERE m.chat_id = c.id
                         ORDER BY user_id) AS members
            FROM chats c WHERE c.id = ANY (chunk)
        ), added AS (
            INSERT INTO messages (id, chat_id, sender_id, client_id, text, timestamp, seen, seq)
            SELECT gen_random_uuid(), p.chat_id,
                   p.members[1 + floor(random() * cardinality(p.members))::int],
                   gen_random_uuid(),
                   'history message ' || (p.last_seq + n) || ' of a long chat, about as long as a chat line',
                   now() - interval '365 days' * (1 - n::float8 / (p.adding + 1)),
                   n <= p.adding - 20,
                   p.last_seq + n
            FROM plan p, generate_series(1, p.adding) n
            WHERE cardinality(p.members) > 0
            RETURNING id, chat_id, sender_id, client_id, seen, timestamp
        ), keyed AS (
            -- What the send path keeps (sql/0033): the keys of the last
            -- eight days, each in the partition of its day.
            INSERT INTO sent_keys (sender_id, client_id, message_id, kept_at)
            SELECT a.sender_id, a.client_id, a.id, a.timestamp FROM added a
            WHERE a.timestamp >= date_trunc('day', now() - interval '8 days', 'UTC')
        ), seen AS (
            INSERT INTO message_seen_status (message_id, user_id, seen_at)
            SELECT a.id, u, a.timestamp FROM added a
            JOIN plan p ON p.chat_id = a.chat_id, unnest(p.members) u
            WHERE a.seen AND u <> a.sender_id
        ), counted AS (
            -- What the send path keeps (sql/0032): a seen message is not
            -- unread for anyone, an unseen one not for its sender.
            UPDATE chat_members cm SET uncounted = cm.uncounted + x.n
            FROM (
                SELECT a.chat_id, u AS user_id,
                       count(*) FILTER (WHERE a.seen OR a.sender_id = u) AS n
                FROM added a JOIN plan p ON p.chat_id = a.chat_id, unnest(p.members) u
                GROUP BY a.chat_id, u
            ) x
            WHERE cm.chat_id = x.chat_id AND cm.user_id = x.user_id
        )
        UPDATE chats c
        SET last_seq = c.last_seq + p.adding,
            active_at = greatest(c.active_at,
                                 now() - interval '365 days' * (1 - p.adding::float8 / (p.adding + 1)))
        FROM plan p WHERE c.id = p.chat_id AND cardinality(p.members) > 0 AND p.adding > 0;
        COMMIT;
        done := done + cardinality(chunk);
        RAISE NOTICE '% of % chats grown', done, total;
    END LOOP;
END
$$;

RESET session_replication_role;
ANALYZE;
SELECT (SELECT count(*) FROM chats) AS chats,
       (SELECT count(*) FROM messages) AS messages,
       (SELECT count(*) FROM message_seen_status) AS seen_rows;
