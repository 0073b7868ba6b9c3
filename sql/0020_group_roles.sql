-- Groups over time: members come and go, the group is renamed.
--
-- A member's role in a group chat: 0 member, 1 admin, 2 owner (the
-- creator, or whom the role passed to when the owner left).
ALTER TABLE chat_members ADD COLUMN role smallint NOT NULL DEFAULT 0
    CHECK (role IN (0, 1, 2));
UPDATE chat_members cm SET role = 2
FROM groups g WHERE g.chat_id = cm.chat_id AND g.creator_id = cm.user_id;

-- `members_version` counts the changes to a chat's members: every core's
-- cache of the members keeps the newest version it has seen, so changes
-- learnt out of order (from other cores, or from a read that raced one)
-- cannot bring an old list back. `changed_seq` is the chat's last seq at
-- its last change of members, roles or name (NULL: never changed): a sync
-- whose cursor is not past it gets the group's state.
ALTER TABLE chats
    ADD COLUMN members_version bigint NOT NULL DEFAULT 0,
    ADD COLUMN changed_seq bigint;
