-- Statement trigger on `chat_members`: takes the chats a user left from
-- `users.chat_count`, as `count_joined_chats` adds them.
CREATE OR REPLACE FUNCTION count_left_chats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    leaver record;
BEGIN
    FOR leaver IN SELECT user_id, count(*) AS n FROM left_chats GROUP BY user_id LOOP
        UPDATE users SET chat_count = chat_count - leaver.n WHERE id = leaver.user_id;
    END LOOP;
    RETURN NULL;
END $$;
