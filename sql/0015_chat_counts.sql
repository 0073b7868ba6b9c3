-- How many chats each user is in, kept by the database itself on every
-- insert into or delete from chat_members (group creation, the demo-data
-- loader, cascades). The core caps it (MAX_CHATS_PER_USER): the per-chat
-- cursors of sync and resume carry one entry per chat, and must stay far
-- below the size one event may have.
ALTER TABLE users ADD COLUMN chat_count integer NOT NULL DEFAULT 0;

UPDATE users u SET chat_count = c.n
FROM (SELECT user_id, count(*) AS n FROM chat_members GROUP BY user_id) c
WHERE c.user_id = u.id;

-- One update per user, each found by its primary key: a single UPDATE
-- joined to the transition table is planned as a walk over every user.
CREATE FUNCTION count_joined_chats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    joiner record;
BEGIN
    FOR joiner IN SELECT user_id, count(*) AS n FROM joined GROUP BY user_id LOOP
        UPDATE users SET chat_count = chat_count + joiner.n WHERE id = joiner.user_id;
    END LOOP;
    RETURN NULL;
END $$;

CREATE FUNCTION count_left_chats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    leaver record;
BEGIN
    FOR leaver IN SELECT user_id, count(*) AS n FROM left_chats GROUP BY user_id LOOP
        UPDATE users SET chat_count = chat_count - leaver.n WHERE id = leaver.user_id;
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER chat_members_joined AFTER INSERT ON chat_members
    REFERENCING NEW TABLE AS joined FOR EACH STATEMENT EXECUTE FUNCTION count_joined_chats();
CREATE TRIGGER chat_members_left AFTER DELETE ON chat_members
    REFERENCING OLD TABLE AS left_chats FOR EACH STATEMENT EXECUTE FUNCTION count_left_chats();
