-- Full-text search of one's own chats (`SearchMessages`, `GET /search`):
-- each message's words as a `tsvector` of the language-neutral `simple`
-- configuration (chats are written in any language, so nothing is stemmed
-- or left out as a stop word), kept by PostgreSQL itself on every insert
-- and edit. A deleted message is a tombstone with no text: it has no words
-- and is never found. A GIN index finds the messages that have the words.
ALTER TABLE messages
    ADD COLUMN words tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED;
CREATE INDEX messages_words_idx ON messages USING gin (words);
