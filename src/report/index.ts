/**
 * Reporting: the query layer over Floe's Iceberg tables and the APIs built on it.
 *
 * API (stable; extend, don't rename):
 *
 * - `QueryLayer.open({ catalog, io, namespace, config: config.report, live })` (`query-layer.ts`)
 *   and `layer.query(scan, sql, params)`: DuckDB SQL over the relations `events` (pa_events of
 *   `scan.siteIds`, `scan.from <= event_time <= scan.to`, the columns `scan.events` names; columns
 *   the table lacks read as NULL) and `sessions` (pa_sessions_latest of the sites, when
 *   `scan.sessions`), including this replica's unflushed rows. Named parameters `$name`.
 *   Refuses scans over FLOE_REPORT_MAX_FILES / FLOE_REPORT_MAX_SCAN_BYTES with a 400 naming
 *   `scan.rangeParam`.
 * - `parseRange(query, config, names)` / `TimeUnit` / `timezone` checks (`range.ts`): the shared
 *   validation of date ranges, units and time zones (400 naming the parameter).
 * - Umami's website API (`umami/`), registered by `umamiApiPlugin` under `/api`.
 */
export * from './query-layer.ts'
export { SnapshotPlanner, type ScanPlan, type PlannedFile } from './plan.ts'
export { DataFileCache } from './file-cache.ts'
