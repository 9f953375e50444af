-- Per-site keys: `read` (reporting API, server to server), `write` (/v1/events) and `share`
-- (a read-only public link). Only the SHA-256 of a token is kept; the token is shown once when the
-- key is created. Revoked keys keep their row (revoked_at) so an audit can still name them.
-- Same SQL on Postgres and PGlite.
CREATE TABLE IF NOT EXISTS floe_site_keys (
  key_id       uuid        PRIMARY KEY,
  site_id      uuid        NOT NULL REFERENCES floe_sites (site_id),
  kind         text        NOT NULL CHECK (kind IN ('read', 'write', 'share')),
  token_sha256 text        NOT NULL UNIQUE,
  label        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);

CREATE INDEX IF NOT EXISTS floe_site_keys_site ON floe_site_keys (site_id, created_at);
