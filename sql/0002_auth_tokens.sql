-- Login sessions (browser cookies) and OAuth 2.0 tokens.
-- Only a SHA-256 hash of each token is stored; the token itself is shown to
-- its owner once.

CREATE TABLE auth_tokens (
    token_hash text PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('session', 'access', 'refresh')),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Every token descended from one login shares a family: reusing a
    -- rotated refresh token revokes the whole family.
    family_id  uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    -- Refresh tokens: when it was exchanged for new tokens.
    used_at    timestamptz,
    revoked_at timestamptz
);
CREATE INDEX auth_tokens_family_idx ON auth_tokens (family_id);
CREATE INDEX auth_tokens_user_idx ON auth_tokens (user_id);
