-- Statement trigger on `chat_members`: counts the chats a user joined into
-- `users.chat_count`, one update per user found by its primary key (a
-- single UPDATE joined to the transition table is planned as a walk over
-- every user).
CREATE OR REPLACE FUNCTION count_joined_chats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    joiner record;
BEGIN
    FOR joiner IN SELECT user_id, count(*) AS n FROM joined GROUP BY user_id LOOP
        UPDATE users SET chat_count = chat_count + joiner.n WHERE id = joiner.user_id;
    END LOOP;
    RETURN NULL;
END $$;
