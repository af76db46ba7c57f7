-- Accounts that sign in through OpenID Connect carry their identity at the
-- provider ("<issuer> <subject>"); local accounts keep ''. Such accounts have
-- an empty password_hash and cannot sign in with a password.
ALTER TABLE users ADD COLUMN oidc_subject TEXT NOT NULL DEFAULT '';
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS users_oidc_subject ON users (oidc_subject) WHERE oidc_subject <> '';
