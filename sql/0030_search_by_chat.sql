-- Retired (see `RETIRED` in core-service/src/store/migrate.rs): this step
-- once replaced 0028's index of `messages.words` with one by chat and
-- words (28 s to build on 10 million messages, blocking writes). 0031
-- builds that index on `message_words` instead, while it is empty.
SELECT 1;
