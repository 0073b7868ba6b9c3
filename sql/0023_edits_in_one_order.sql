-- Edits in one order.
--
-- A message kept only the client's id of its last edit, so an edit retried
-- after a newer one was applied again and took the message back in time.
-- `message_edits` remembers the id of every edit of a message: a retry of
-- any of them changes nothing and is answered to the asker alone.
--
-- `edited_at` was the edit's transaction start: of two edits at once the
-- one that committed last could carry the earlier time, and a client that
-- kept the later `edited_at` (as the protocol says) showed the text history
-- did not. From here on the store sets it to the clock when the edit holds
-- the message's row lock, and never earlier than a microsecond after the
-- last edit: `edited_at` rises in the order edits commit
-- (core-service/src/store/edits.rs).

CREATE TABLE message_edits (
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    edit_id uuid NOT NULL,
    PRIMARY KEY (message_id, edit_id)
);

INSERT INTO message_edits (message_id, edit_id)
SELECT id, edit_id FROM messages WHERE edit_id IS NOT NULL;

ALTER TABLE messages DROP COLUMN edit_id;
