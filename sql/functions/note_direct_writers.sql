-- Statement trigger on `messages`: marks who has written in a personal chat
-- (`direct_chats.low_wrote` / `high_wrote`); both marked makes two users
-- contacts.
CREATE OR REPLACE FUNCTION note_direct_writers() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
BEGIN
    UPDATE direct_chats d SET low_wrote = true
    FROM (SELECT DISTINCT chat_id, sender_id FROM fresh) f
    WHERE d.chat_id = f.chat_id AND d.user_low = f.sender_id AND NOT d.low_wrote;
    UPDATE direct_chats d SET high_wrote = true
    FROM (SELECT DISTINCT chat_id, sender_id FROM fresh) f
    WHERE d.chat_id = f.chat_id AND d.user_high = f.sender_id AND NOT d.high_wrote;
    RETURN NULL;
END
$$;
