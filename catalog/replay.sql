-- Which pa_rejected rows were replayed (docs/dead-letter.md): one row per rejected_id, so a replay
-- re-sends each refused event at most once, on any replica, across restarts. `pending` marks a
-- replay in progress; one older than the takeover time was cut short (its process died) and may
-- be taken over.
CREATE TABLE IF NOT EXISTS floe_replayed_events (
  rejected_id text        PRIMARY KEY,
  site_id     text        NOT NULL,
  outcome     text        NOT NULL,
  replayed_at timestamptz NOT NULL DEFAULT now()
);
