-- Contacts by consent.
--
-- Two users are each other's contacts once both have written in their
-- personal chat: opening a chat with someone whose address one knows is
-- not enough, they must answer. Contacts see each other's presence (unless
-- either hides it, or either blocks the other), find each other by a name
-- prefix, and are whom a user may let add them to groups.

ALTER TABLE direct_chats
    ADD COLUMN low_wrote  boolean NOT NULL DEFAULT false,
    ADD COLUMN high_wrote boolean NOT NULL DEFAULT false;

-- A user's contacts are found from either side of the pair: the primary
-- key leads with the lower id, this index with the higher. (Not partial
-- on the flags: an index without a condition on the user would then fit
-- both sides, and a planner with stale statistics may scan it whole.)
CREATE INDEX direct_chats_high_idx ON direct_chats (user_high, user_low);

-- Who has written in each personal chat so far.
UPDATE direct_chats d
SET low_wrote = EXISTS (SELECT 1 FROM messages m WHERE m.chat_id = d.chat_id AND m.sender_id = d.user_low),
    high_wrote = EXISTS (SELECT 1 FROM messages m WHERE m.chat_id = d.chat_id AND m.sender_id = d.user_high);

-- Every statement that stores messages (the store functions, a bulk load)
-- marks their senders as having written in the personal chats among them:
-- once per statement, and a row only changes the first time.
CREATE FUNCTION note_direct_writers() RETURNS trigger
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

CREATE TRIGGER messages_direct_writers AFTER INSERT ON messages
REFERENCING NEW TABLE AS fresh
FOR EACH STATEMENT EXECUTE FUNCTION note_direct_writers();

-- Each user's privacy: whether their contacts see them online and when
-- they were last seen (and, in return, they see their contacts'), and
-- whether only their contacts may add them to groups.
ALTER TABLE users
    ADD COLUMN shares_presence boolean NOT NULL DEFAULT true,
    ADD COLUMN adds_from_contacts_only boolean NOT NULL DEFAULT false;
