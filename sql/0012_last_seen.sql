-- When the user's last connected device left (presence: "last seen");
-- NULL if they never connected since presence was recorded. Whether they
-- are online now is not stored here but in the cores' memory (or Redis).
ALTER TABLE users ADD COLUMN last_seen_at timestamptz;
