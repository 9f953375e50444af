-- Per-site sampling rules for /v1/events (docs/v1-events.md): per event type ('*' = any type
-- without its own rule), a mode and the kept fraction. Kept rows carry it in pa_events.sample_rate.
-- Same SQL on Postgres and PGlite.
CREATE TABLE IF NOT EXISTS floe_site_sampling (
  site_id        uuid             NOT NULL REFERENCES floe_sites (site_id),
  event_type     text             NOT NULL,
  mode           text             NOT NULL CHECK (mode IN ('random', 'visitor', 'window')),
  rate           double precision NOT NULL CHECK (rate > 0 AND rate <= 1),
  window_seconds integer,
  PRIMARY KEY (site_id, event_type)
);
