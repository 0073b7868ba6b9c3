-- The messages of `p_chat` after seq `p_mark` that are not unread for
-- `p_user` (`sql/0032`): their own, those with their single receipt, and
-- those of people they block. Read along the chat's seq from the mark, so
-- it costs what came after the mark.
CREATE OR REPLACE FUNCTION uncounted_after(p_chat uuid, p_user uuid, p_mark bigint)
RETURNS bigint
LANGUAGE sql
STABLE
SET enable_seqscan = off
AS $$
    SELECT count(*) FROM messages m
    WHERE m.chat_id = p_chat AND m.seq > p_mark
      AND (m.sender_id = p_user
           OR EXISTS (SELECT 1 FROM message_seen_status s
                      WHERE s.message_id = m.id AND s.user_id = p_user)
           OR EXISTS (SELECT 1 FROM blocks b
                      WHERE b.blocker_id = p_user AND b.blocked_id = m.sender_id))
$$;
