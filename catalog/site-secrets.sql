-- Per-site signing secrets for /v1/events (docs/v1-events.md): one HMAC-SHA256 secret per site,
-- used to verify signed requests (X-Floe-Signature) and the browser tokens a site's backend mints.
-- An HMAC needs the secret itself, so it is stored as is (unlike write keys, which are hashed).
-- floe_signature_replays remembers each accepted signature until its timestamp leaves the
-- tolerance window, shared by every replica, so a captured request cannot be sent again.
-- Same SQL on Postgres and PGlite.
CREATE TABLE IF NOT EXISTS floe_site_secrets (
  site_id    uuid        PRIMARY KEY REFERENCES floe_sites (site_id),
  secret     text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS floe_signature_replays (
  signature  text        PRIMARY KEY,
  expires_at timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS floe_signature_replays_expiry ON floe_signature_replays (expires_at);
