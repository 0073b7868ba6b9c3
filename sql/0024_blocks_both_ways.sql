-- A block blocks: nothing of the blocked user reaches the blocker (live
-- messages and typing, presence either way, sync, history). Fan-out asks
-- who blocks a sender, so blocks are found by the blocked user too.
CREATE INDEX blocks_blocked_idx ON blocks (blocked_id, blocker_id);
