-- Records the personal chats among `p_chats` that have exactly two members
-- as their pair's chat, unless the pair has one already (then the oldest
-- of them stays the pair's chat). Used by the migration that made the
-- table and by the demo-data loader for the chats it adds.
CREATE OR REPLACE FUNCTION record_direct_chats(p_chats uuid[]) RETURNS void
LANGUAGE sql
AS $$
    INSERT INTO direct_chats (user_low, user_high, chat_id)
    SELECT a.user_id, b.user_id, c.id FROM chats c
    JOIN chat_members a ON a.chat_id = c.id
    JOIN chat_members b ON b.chat_id = c.id AND a.user_id < b.user_id
    WHERE c.id = ANY (p_chats) AND c.type = 0
      AND (SELECT count(*) FROM chat_members m WHERE m.chat_id = c.id) = 2
    ORDER BY c.created_at, c.id
    ON CONFLICT DO NOTHING
$$;
