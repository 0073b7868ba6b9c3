-- Retired (see `RETIRED` in core-service/src/store/migrate.rs): this step
-- once added `messages.words`, a `tsvector` generated on every insert, and
-- its GIN index. Adding the column rewrote the whole table under an
-- exclusive lock (70 s on 10 million messages); 0031 keeps the words in a
-- table of their own, filled off the send path, and drops what this step
-- made where it was applied.
SELECT 1;
