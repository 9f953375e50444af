-- Floe's idempotency ledger for /v1/events (docs/idempotency.md): one claim per (site, event id),
-- naming the WAL record (writer id, seq) that holds the event. A claim older than the window
-- (expires_at) may be taken over by a new event with the same id, and is deleted by the cleanup.
-- Same SQL on Postgres and PGlite.
CREATE TABLE IF NOT EXISTS floe_event_claims (
  site_id    text        NOT NULL,
  event_id   text        NOT NULL,
  writer_id  text        NOT NULL,
  wal_seq    bigint      NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (site_id, event_id)
);

-- No secondary index: every request inserts a batch of claims, and each index would cost on that
-- path. Lookups by (writer_id, wal_seq) happen only on start and after a refused WAL write, and
-- the expiry cleanup hourly; a scan serves those.
