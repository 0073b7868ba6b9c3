-- Groups a user created, counted against their quota at each creation.
CREATE INDEX groups_creator_idx ON groups (creator_id);
