-- Edits and deletes of a message by its sender. An edited message keeps
-- its id and seq and says when it was last edited; a deleted one stays in
-- its chat as a tombstone: no text, `deleted_at` set. `edit_id` is the
-- client's id for the last edit, so a retried edit is recognised and
-- changes nothing.
ALTER TABLE messages
    ADD COLUMN edited_at timestamptz,
    ADD COLUMN deleted_at timestamptz,
    ADD COLUMN edit_id uuid;
