-- A member may hide a chat (delete it for themself, as messengers call
-- it): the chat leaves their chat list, and its messages up to
-- `cleared_seq` leave their history and sync. The other members keep
-- everything; a later message brings the chat back with only what follows.
-- NULL: never hidden (a chat with no message yet is hidden at 0).
ALTER TABLE chat_members ADD COLUMN cleared_seq bigint;
