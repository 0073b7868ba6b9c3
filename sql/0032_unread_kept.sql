-- Chat lists without counting messages. A member's unread messages in a
-- chat are the chat's messages after their mark (the read marker, or where
-- they hid the chat) less those that are not unread for them: their own,
-- those they marked seen one by one, and those of people they block. A
-- chat's seq has no gaps (messages are never removed), so the first figure
-- is `last_seq - mark`; the second is kept per member in `uncounted`:
--
-- - a send adds one for its sender and for each member who blocks them
--   (under the chat row's lock, like its seq);
-- - a single receipt after the mark adds one (under the member row's lock);
-- - moving the mark (a read marker, hiding the chat), blocking and
--   unblocking count it again from the messages after the new mark, which
--   are few once a chat has been read (`uncounted_after`).
--
-- Unread = last_seq - greatest(read_seq, cleared_seq) - uncounted, for any
-- number of messages; tests/properties.rs checks it against the count.
ALTER TABLE chat_members ADD COLUMN uncounted bigint NOT NULL DEFAULT 0;

-- When a chat's newest message was stored (NULL while it has none): chat
-- lists are sorted by it without reading any message.
ALTER TABLE chats ADD COLUMN active_at timestamptz;

UPDATE chats c SET active_at = m.timestamp
FROM messages m WHERE m.chat_id = c.id AND m.seq = c.last_seq;

UPDATE chat_members cm SET uncounted = (
    SELECT count(*) FROM messages m
    WHERE m.chat_id = cm.chat_id
      AND m.seq > greatest(cm.read_seq, coalesce(cm.cleared_seq, 0))
      AND (m.sender_id = cm.user_id
           OR EXISTS (SELECT 1 FROM message_seen_status s
                      WHERE s.message_id = m.id AND s.user_id = cm.user_id)
           OR EXISTS (SELECT 1 FROM blocks b
                      WHERE b.blocker_id = cm.user_id AND b.blocked_id = m.sender_id)));
