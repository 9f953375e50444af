-- Floe sites (Umami "websites"): the tracker's data-website-id is site_id. Soft-deleted rows keep
-- their id so events for them get 400 and the id is never reused. Same SQL on Postgres and PGlite.
CREATE TABLE IF NOT EXISTS floe_sites (
  site_id          uuid PRIMARY KEY,
  name             text        NOT NULL,
  domains          text[]      NOT NULL DEFAULT '{}',
  allow_subdomains boolean     NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz
);

CREATE INDEX IF NOT EXISTS floe_sites_live ON floe_sites (created_at) WHERE deleted_at IS NULL;

-- Per-site retention (docs/retention.md): days of rows the site keeps; NULL = FLOE_RETENTION_DEFAULT_DAYS.
ALTER TABLE floe_sites ADD COLUMN IF NOT EXISTS retention_days integer;
