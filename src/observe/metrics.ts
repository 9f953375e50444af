/**
 * Prometheus metrics (prom-client), served at `GET /metrics` (src/receive/metrics-route.ts).
 *
 * One module-level registry (not prom-client's global default, so tests and embedders that import
 * prom-client themselves do not collide). Other stages import the counters directly, e.g.
 * `metrics.eventsRejected.inc({ reason: 'bot' })`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export const registry = new Registry()
collectDefaultMetrics({ register: registry, prefix: 'floe_' })

const registers = [registry]

export const metrics = {
  /** Rows accepted into the buffer (durable in the WAL), per table. */
  eventsAccepted: new Counter({
    name: 'floe_events_accepted_total',
    help: 'Rows accepted (durable in the write-ahead log) per table',
    labelNames: ['table'] as const,
    registers,
  }),
  /** Events not accepted, by reason (validation, unknown_site, bot, backpressure, shutting_down, wal_error, ...). */
  eventsRejected: new Counter({
    name: 'floe_events_rejected_total',
    help: 'Events not accepted, by reason',
    labelNames: ['reason'] as const,
    registers,
  }),
  bufferedRows: new Gauge({
    name: 'floe_buffered_rows',
    help: 'Rows accepted but not yet committed to Iceberg, per table',
    labelNames: ['table'] as const,
    registers,
  }),
  bufferedBytes: new Gauge({
    name: 'floe_buffered_bytes',
    help: 'Encoded size of rows accepted but not yet committed, per table',
    labelNames: ['table'] as const,
    registers,
  }),
  flushDuration: new Histogram({
    name: 'floe_flush_duration_seconds',
    help: 'Time of one successful flush (Parquet + manifests + commit), per table',
    labelNames: ['table'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  }),
  flushRows: new Histogram({
    name: 'floe_flush_rows',
    help: 'Rows per successful flush, per table',
    labelNames: ['table'] as const,
    buckets: [1, 10, 100, 1000, 5000, 10000, 50000, 100000],
    registers,
  }),
  flushBytes: new Histogram({
    name: 'floe_flush_bytes',
    help: 'Encoded row bytes per successful flush, per table',
    labelNames: ['table'] as const,
    buckets: [1e3, 1e4, 1e5, 1e6, 4e6, 16e6, 64e6],
    registers,
  }),
  commits: new Counter({
    name: 'floe_commits_total',
    help: 'Snapshots committed, per table',
    labelNames: ['table'] as const,
    registers,
  }),
  /** When this process last committed a snapshot (the Ops page shows it as "last commit"). */
  lastCommit: new Gauge({
    name: 'floe_last_commit_timestamp_seconds',
    help: 'Unix time of the last snapshot this process committed, per table',
    labelNames: ['table'] as const,
    registers,
  }),
  commitConflicts: new Counter({
    name: 'floe_commit_conflicts_total',
    help: 'Commit attempts that lost to another writer and were rebuilt on the new parent',
    labelNames: ['table'] as const,
    registers,
  }),
  /** Commits a commit coordinator made (src/log/commit-coordinator.ts), per table. */
  coordinatorCommits: new Counter({
    name: 'floe_coordinator_commits_total',
    help: 'Snapshots committed by this process as commit coordinator of the table',
    labelNames: ['table'] as const,
    registers,
  }),
  /** 1 while this process is the table's commit coordinator (holds its lease), else 0. */
  coordinatorLeader: new Gauge({
    name: 'floe_coordinator_leader',
    help: "1 while this process is the table's commit coordinator",
    labelNames: ['table'] as const,
    registers,
  }),
  coordinatorRequestsPerCommit: new Histogram({
    name: 'floe_coordinator_requests_per_commit',
    help: "Writers' commit requests joined in one coordinator commit",
    labelNames: ['table'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers,
  }),
  /** Requests not committed, by outcome: `held` (the table had them already), `rejected` (partly held). */
  coordinatorRequestsDropped: new Counter({
    name: 'floe_coordinator_requests_dropped_total',
    help: 'Commit requests a coordinator did not commit, by outcome (held, rejected)',
    labelNames: ['table', 'outcome'] as const,
    registers,
  }),
  flushRetries: new Counter({
    name: 'floe_flush_retries_total',
    help: 'Failed flushes that keep their rows and retry with backoff, per table and error',
    labelNames: ['table', 'error'] as const,
    registers,
  }),
  rowsQuarantined: new Counter({
    name: 'floe_rows_quarantined_total',
    help: 'Accepted rows that did not fit the table schema, written to the quarantine instead',
    labelNames: ['table'] as const,
    registers,
  }),
  walBytes: new Gauge({ name: 'floe_wal_bytes', help: 'Size of the write-ahead log on disk', registers }),
  walSegments: new Gauge({ name: 'floe_wal_segments', help: 'Write-ahead log segment files', registers }),
  walGroupRecords: new Histogram({
    name: 'floe_wal_group_records',
    help: 'Records (accepted requests) per write-ahead log write + fdatasync: how far group commit amortises them',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers,
  }),
  sitesDbUp: new Gauge({
    name: 'floe_sites_db_up',
    help: '1 while the sites database answers, 0 since a statement failed to reach it',
    registers,
  }),
  siteLookupsStale: new Counter({
    name: 'floe_site_lookups_stale_total',
    help: 'Site lookups answered from a cached copy older than FLOE_SITE_CACHE_TTL_SECONDS (refresh pending or failing)',
    registers,
  }),
  maintenanceRuns: new Counter({
    name: 'floe_maintenance_runs_total',
    help: 'Maintenance parts run, per table, part and outcome (ok, skipped, failed, conflict)',
    labelNames: ['table', 'part', 'outcome'] as const,
    registers,
  }),
  maintenanceDuration: new Histogram({
    name: 'floe_maintenance_duration_seconds',
    help: 'Time of one maintenance part on one table',
    labelNames: ['table', 'part'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers,
  }),
  maintenanceFilesRewritten: new Counter({
    name: 'floe_maintenance_files_rewritten_total',
    help: 'Data files replaced by compaction, per table',
    labelNames: ['table'] as const,
    registers,
  }),
  maintenanceFilesWritten: new Counter({
    name: 'floe_maintenance_files_written_total',
    help: 'Data files written by compaction, per table',
    labelNames: ['table'] as const,
    registers,
  }),
  maintenanceFilesDeleted: new Counter({
    name: 'floe_maintenance_files_deleted_total',
    help: 'Files deleted by maintenance, per table and part (orphans, expiry, metadata)',
    labelNames: ['table', 'part'] as const,
    registers,
  }),
  maintenanceSnapshotsExpired: new Counter({
    name: 'floe_maintenance_snapshots_expired_total',
    help: 'Snapshots removed by snapshot expiry, per table',
    labelNames: ['table'] as const,
    registers,
  }),
  maintenanceLeaseBusy: new Counter({
    name: 'floe_maintenance_lease_busy_total',
    help: 'Maintenance runs skipped on a table because another replica held its lease',
    labelNames: ['table'] as const,
    registers,
  }),
  retentionFilesDeleted: new Counter({
    name: 'floe_retention_files_deleted_total',
    help: 'Data files removed whole from the table by per-site retention (metadata only), per table',
    labelNames: ['table'] as const,
    registers,
  }),
  retentionFilesRewritten: new Counter({
    name: 'floe_retention_files_rewritten_total',
    help: 'Data files rewritten without their expired rows by retention (they straddled the cut-off), per table',
    labelNames: ['table'] as const,
    registers,
  }),
  retentionRecordsDeleted: new Counter({
    name: 'floe_retention_records_deleted_total',
    help: 'Rows removed by per-site retention, per table',
    labelNames: ['table'] as const,
    registers,
  }),
  retentionBytesDeleted: new Counter({
    name: 'floe_retention_bytes_deleted_total',
    help: 'Bytes of the data files removed whole by per-site retention, per table',
    labelNames: ['table'] as const,
    registers,
  }),
  deadLettered: new Counter({
    name: 'floe_dead_lettered_total',
    help: 'Refused events written to pa_rejected, per reason',
    labelNames: ['reason'] as const,
    registers,
  }),
  replayed: new Counter({
    name: 'floe_replayed_total',
    help: 'Rejected events replayed from pa_rejected, per outcome (accepted, duplicate, rejected)',
    labelNames: ['outcome'] as const,
    registers,
  }),
  backpressure: new Gauge({
    name: 'floe_backpressure',
    help: '1 while /api/send answers 503 because the unflushed backlog is over FLOE_BACKLOG_MAX_ROWS',
    registers,
  }),
}

export type Metrics = typeof metrics
