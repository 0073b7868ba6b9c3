-- The words search reads, kept off the send path. As a column of
-- `messages` generated on every insert (0028), they took a third of the
-- closed loop's rate: a `tsvector` and its index entries made inside each
-- send's transaction, and the vector computed again on every other update
-- of the row (receipts). Now a core indexes the messages of the chats it
-- stored to a moment later, many at once (`words`, `store/words.rs`):
--
-- - `message_words`: each indexed message's words, by chat and seq; a GIN
--   index by chat and words finds one chat's matches directly (`btree_gin`,
--   as 0030 explains).
-- - `chat_words`: how far each chat is indexed. Every message of a chat up
--   to `indexed_seq` has its row (none for a message without text). Search
--   reads the words of those, and reads the text of the few after it.
--
-- A chat's last seq and its messages become visible in one commit, so one
-- statement that reads both indexes exactly the messages up to it.
CREATE TABLE message_words (
    chat_id uuid NOT NULL,
    seq     bigint NOT NULL,
    -- Its sender (which never changes): a search leaves out those the
    -- reader blocks here, and reads from `messages` only the page it keeps.
    sender_id uuid NOT NULL,
    words   tsvector NOT NULL,
    -- No foreign key to `messages`: checking it would lock each message's
    -- row (a write to its page) for every row indexed, and messages are
    -- never deleted, only emptied (their words with them, below).
    PRIMARY KEY (chat_id, seq)
);
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX message_words_chat_words_idx ON message_words USING gin (chat_id, words);

CREATE TABLE chat_words (
    chat_id     uuid PRIMARY KEY REFERENCES chats (id) ON DELETE CASCADE,
    indexed_seq bigint NOT NULL
);

-- An edit, or a deletion (which empties the text), writes the message's
-- words at once, indexed or not yet. The indexer never overwrites a row
-- (`ON CONFLICT DO NOTHING`): whichever of the two commits first, the
-- words that stay are those of the text as it is now, and a deleted
-- message keeps none of its old words.
CREATE FUNCTION index_changed_text() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO message_words (chat_id, seq, sender_id, words)
    VALUES (NEW.chat_id, NEW.seq, NEW.sender_id, to_tsvector('simple', NEW.text))
    ON CONFLICT (chat_id, seq) DO UPDATE SET words = EXCLUDED.words;
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_text_changed
    AFTER UPDATE OF text ON messages
    FOR EACH ROW WHEN (OLD.text IS DISTINCT FROM NEW.text)
    EXECUTE FUNCTION index_changed_text();

-- What 0028 and 0030 made, on databases that applied them before they
-- were retired (instant: a dropped column's bytes stay until rows are
-- rewritten, and are no longer read).
DROP INDEX IF EXISTS messages_chat_words_idx;
DROP INDEX IF EXISTS messages_words_idx;
ALTER TABLE messages DROP COLUMN IF EXISTS words;
