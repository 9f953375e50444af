/**
 * The query layer: answers SQL over `pa_events` and `pa_sessions` for a set of sites and a time
 * range, from the tables' current snapshots plus this replica's accepted-but-unflushed rows.
 *
 *   const rows = await layer.query(
 *     { siteIds: [siteId], from, to, events: ['session_id', 'visit_id', 'event_type'] },
 *     'SELECT count(DISTINCT session_id) AS visitors FROM events WHERE event_type = $type',
 *     { type: 1 },
 *   )
 *
 * What the SQL sees:
 * - `events`: rows of `pa_events` of `siteIds` with `from <= event_time <= to`, with exactly the
 *   columns asked for in `events`. A column the table does not have (an optional column another
 *   version adds, e.g. `campaign_id`, `source`, `sample_rate`) reads as NULL; a column only newer
 *   files have reads as NULL in older files.
 * - `sessions`: `pa_sessions_latest` (dev/sessions-view.sql: one row per session, attributes of the
 *   latest row, earliest created_at, latest non-null distinct_id, session_data merged per key) for
 *   the sessions of `siteIds` created up to `to`, when `sessions: true`.
 * - Named parameters `$name` from `params`.
 *
 * How: the scan is planned from the current snapshot with partition pruning (day and site) and
 * only the asked columns are read (`plan.ts`); DuckDB runs the SQL over the planned Parquet files
 * (`engine.ts`), S3 files through the bounded local cache (`file-cache.ts`). Live rows: the
 * buffer's entries are taken *before* the table is loaded, and those whose WAL seq the loaded
 * snapshot already holds (`floe.wal-seq.<writer-id>`) are dropped, so a flush between the two
 * steps neither loses nor doubles a row. Bounds: FLOE_REPORT_MAX_FILES / _MAX_SCAN_BYTES refuse a
 * scan that is too large (400 naming the range parameter), DuckDB's memory and threads are capped.
 */
import { timestampTZValue, listValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api'
import type { ReportConfig } from '../config.ts'
import { ValidationError } from '../errors.ts'
import type { Row, TableName } from '../rows.ts'
import type { FileIO } from '../storage/file-io.ts'
import type { Catalog, IcebergSchema, IcebergType, LoadedTable } from '../table/index.ts'
import type { PendingRows } from '../buffer/buffer.ts'
import { committedSeq } from '../buffer/recovery.ts'
import { ReportEngine, readRows, type SqlParams } from './engine.ts'
import { DataFileCache } from './file-cache.ts'
import { SnapshotPlanner, type ScanPlan } from './plan.ts'

export type { SqlParams, SqlValue } from './engine.ts'

/** This replica's uncommitted rows (IngestBuffer.pending). */
export interface LiveSource {
  pending(table: TableName): PendingRows
}

export interface ScanRequest {
  /** Sites whose rows the SQL sees (at least one). */
  siteIds: readonly string[]
  /** Inclusive bounds on `event_time`. */
  from: Date
  to: Date
  /** Columns of `pa_events` the SQL reads from `events`; leave out when it does not use `events`. */
  events?: readonly string[]
  /** Bind `sessions` (pa_sessions_latest of the sites, sessions created up to `to`). */
  sessions?: boolean
  /** The request parameter a refusal for scanning too much names (default `startAt`). */
  rangeParam?: string
}

export interface QueryLayerOptions {
  catalog: Catalog
  io: FileIO
  namespace: string[]
  config: ReportConfig
  /** Accepted-but-unflushed rows of this replica; absent = committed data only. */
  live?: LiveSource
}

/** What the last plans cost (for tests and the bench). */
export interface ScanStats {
  files: number
  bytes: number
  manifestsRead: number
  manifestsTotal: number
  liveRows: number
}

const IDENT = /^[a-z_][a-z0-9_]*$/

/** The session columns `sessions` exposes (dev/sessions-view.sql). */
export const SESSION_COLUMNS = [
  'session_id',
  'site_id',
  'created_at',
  'updated_at',
  'browser',
  'os',
  'device',
  'screen',
  'language',
  'country',
  'region',
  'city',
  'distinct_id',
  'session_data',
] as const

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`

function duckType(t: IcebergType): string {
  if (typeof t === 'object') return `MAP(${duckType(t.key)}, ${duckType(t.value)})`
  switch (t) {
    case 'string':
      return 'VARCHAR'
    case 'int':
      return 'INTEGER'
    case 'long':
      return 'BIGINT'
    case 'double':
      return 'DOUBLE'
    case 'float':
      return 'FLOAT'
    case 'boolean':
      return 'BOOLEAN'
    case 'timestamptz':
      return 'TIMESTAMPTZ'
    case 'timestamp':
      return 'TIMESTAMP'
    case 'date':
      return 'DATE'
    default:
      return 'VARCHAR'
  }
}

/** Types of columns no table version has yet, read as NULL (the v1 API's optional columns). */
const OPTIONAL_EVENT_COLUMNS: Record<string, string> = {
  campaign_id: 'VARCHAR',
  source: 'VARCHAR',
  sample_rate: 'DOUBLE',
}

export class QueryLayer {
  readonly planner: SnapshotPlanner
  readonly cache: DataFileCache
  /** Cost of the most recent query (tests, bench). */
  lastScan: ScanStats = { files: 0, bytes: 0, manifestsRead: 0, manifestsTotal: 0, liveRows: 0 }

  private constructor(
    private readonly o: QueryLayerOptions,
    private readonly engine: ReportEngine,
  ) {
    this.planner = new SnapshotPlanner(o.io)
    this.cache = new DataFileCache(o.io, o.config.cacheDir, o.config.cacheMaxBytes)
  }

  static async open(o: QueryLayerOptions): Promise<QueryLayer> {
    const engine = await ReportEngine.open({
      memoryMb: o.config.duckdbMemoryMb,
      threads: o.config.duckdbThreads,
      timeoutMs: o.config.queryTimeoutSeconds * 1000,
      tempDir: `${o.config.cacheDir}.spill`,
    })
    return new QueryLayer(o, engine)
  }

  close(): void {
    this.engine.close()
  }

  /** Loads a table's current metadata (undefined before its first commit). */
  async load(table: TableName): Promise<LoadedTable | undefined> {
    return this.o.catalog.loadTable({ namespace: this.o.namespace, name: table })
  }

  async query<T = Record<string, unknown>>(
    scan: ScanRequest,
    sql: string,
    params: SqlParams = {},
  ): Promise<T[]> {
    if (scan.siteIds.length === 0) return []
    for (const c of scan.events ?? []) if (!IDENT.test(c)) throw new Error(`bad column name ${c}`)
    // Live rows first, then the tables (see the header: the order is what makes it exact).
    const pendingEvents = scan.events ? this.o.live?.pending('pa_events') : undefined
    const pendingSessions = scan.sessions ? this.o.live?.pending('pa_sessions') : undefined
    const fromDay = Math.floor(scan.from.getTime() / 86_400_000)
    const toDay = Math.floor(scan.to.getTime() / 86_400_000)
    const sites = new Set(scan.siteIds)
    const eventsTable = scan.events ? await this.load('pa_events') : undefined
    const sessionsTable = scan.sessions ? await this.load('pa_sessions') : undefined
    const eventsPlan = eventsTable
      ? await this.planner.plan(eventsTable, {
          days: { column: 'event_time', from: fromDay, to: toDay },
          values: { column: 'site_id', in: sites },
        })
      : undefined
    const sessionsPlan = sessionsTable
      ? await this.planner.plan(sessionsTable, {
          days: { column: 'created_at', from: Number.MIN_SAFE_INTEGER, to: toDay },
          values: { column: 'site_id', in: sites },
        })
      : undefined
    const files = [...(eventsPlan?.files ?? []), ...(sessionsPlan?.files ?? [])]
    const bytes = files.reduce((s, f) => s + f.sizeBytes, 0)
    const field = scan.rangeParam ?? 'startAt'
    if (files.length > this.o.config.maxFiles)
      throw new ValidationError(
        field,
        `the range needs ${files.length} data files, over the limit of ${this.o.config.maxFiles} (FLOE_REPORT_MAX_FILES); narrow it`,
      )
    if (bytes > this.o.config.maxScanBytes)
      throw new ValidationError(
        field,
        `the range needs ${bytes} bytes of data files, over the limit of ${this.o.config.maxScanBytes} (FLOE_REPORT_MAX_SCAN_BYTES); narrow it`,
      )

    const fromMicros = BigInt(scan.from.getTime()) * 1000n
    const toMicros = BigInt(scan.to.getTime()) * 1000n + 999n
    const inRange = (r: Row) =>
      sites.has(r.site_id as string) &&
      (r.event_time as number) >= Number(fromMicros) &&
      (r.event_time as number) <= Number(toMicros)
    const liveEvents = pendingEvents ? liveRows(pendingEvents, eventsTable, inRange) : []
    const liveSessions = pendingSessions
      ? liveRows(pendingSessions, sessionsTable, (r) => sites.has(r.site_id as string))
      : []

    const acquired = await this.cache.acquire(files.map((f) => f.path))
    try {
      const eventPaths = acquired.paths.slice(0, eventsPlan?.files.length ?? 0)
      const sessionPaths = acquired.paths.slice(eventsPlan?.files.length ?? 0)
      this.lastScan = {
        files: files.length,
        bytes,
        manifestsRead: (eventsPlan?.manifests.read ?? 0) + (sessionsPlan?.manifests.read ?? 0),
        manifestsTotal: (eventsPlan?.manifests.total ?? 0) + (sessionsPlan?.manifests.total ?? 0),
        liveRows: liveEvents.length + liveSessions.length,
      }
      return await this.engine.withConnection(async (c) => {
        const ctes: string[] = []
        const siteList = [...sites].map(lit).join(', ')
        if (scan.events) {
          // site_id and event_time are always read: the relation filters on them.
          const names = [...new Set(['site_id', 'event_time', ...scan.events])]
          const cols = columnTypes(names, eventsPlan, OPTIONAL_EVENT_COLUMNS)
          if (liveEvents.length) await loadLive(c, 'live_events', cols, liveEvents)
          ctes.push(
            `events AS (${relation(cols, eventPaths, liveEvents.length > 0 ? 'live_events' : undefined, `site_id IN (${siteList}) AND event_time BETWEEN $__from AND $__to`)})`,
          )
        }
        if (scan.sessions) {
          const cols = columnTypes(SESSION_COLUMNS, sessionsPlan, {})
          if (liveSessions.length) await loadLive(c, 'live_sessions', cols, liveSessions)
          ctes.push(
            `session_rows AS (${relation(cols, sessionPaths, liveSessions.length > 0 ? 'live_sessions' : undefined, `site_id IN (${siteList}) AND created_at <= $__to`)})`,
            ...SESSIONS_LATEST,
          )
        }
        const body = sql.trim()
        const full = /^with\s/i.test(body)
          ? `WITH ${ctes.join(',\n')},\n${body.replace(/^with\s/i, '')}`
          : ctes.length
            ? `WITH ${ctes.join(',\n')}\n${body}`
            : body
        const values: Record<string, DuckDBValue> = {}
        for (const [k, v] of Object.entries(params))
          values[k] = Array.isArray(v) ? listValue(v) : (v as DuckDBValue)
        if (/\$__from\b/.test(full)) values.__from = timestampTZValue(fromMicros)
        if (/\$__to\b/.test(full)) values.__to = timestampTZValue(toMicros)
        return readRows<T>(c, full, values)
      })
    } finally {
      acquired.release()
    }
  }
}

interface ColumnType {
  name: string
  type: string
  /** False when the table has no such column (read as a typed NULL). */
  inTable: boolean
}

function columnTypes(
  names: readonly string[],
  plan: ScanPlan | undefined,
  optional: Record<string, string>,
): ColumnType[] {
  const schema: IcebergSchema | undefined = plan?.schema
  return names.map((name) => {
    const f = schema?.fields.find((x) => x.name === name)
    if (f) return { name, type: duckType(f.type), inTable: true }
    return { name, type: optional[name] ?? 'VARCHAR', inTable: false }
  })
}

/**
 * The rows of the planned files plus the live table, with the asked columns. The empty typed
 * SELECT under UNION ALL BY NAME gives every asked column a type even when no file has it.
 */
function relation(cols: ColumnType[], paths: string[], live: string | undefined, where: string): string {
  const typed = cols.filter((c) => c.inTable)
  const template = `SELECT ${typed.map((c) => `CAST(NULL AS ${c.type}) AS ${c.name}`).join(', ')} WHERE false`
  const parts = [template]
  if (paths.length)
    parts.push(
      `SELECT ${typed.map((c) => c.name).join(', ')} FROM read_parquet([${paths.map(lit).join(', ')}], union_by_name = true)`,
    )
  if (live) parts.push(`SELECT ${typed.map((c) => c.name).join(', ')} FROM ${live}`)
  const select = cols.map((c) => (c.inTable ? c.name : `CAST(NULL AS ${c.type}) AS ${c.name}`)).join(', ')
  return `SELECT ${select} FROM (${parts.join(' UNION ALL BY NAME ')}) WHERE ${where}`
}

/** Uncommitted rows not yet in the loaded snapshot, filtered. */
function liveRows(pending: PendingRows, table: LoadedTable | undefined, keep: (r: Row) => boolean): Row[] {
  const committed = table && pending.writerId ? committedSeq(table.metadata, pending.writerId) : 0
  const out: Row[] = []
  for (const e of pending.entries) {
    if (e.seq <= committed) continue
    for (const r of e.rows) if (keep(r)) out.push(r)
  }
  return out
}

/** Live rows into a connection-local temp table with the asked columns (present in the table). */
async function loadLive(c: DuckDBConnection, name: string, cols: ColumnType[], rows: Row[]): Promise<void> {
  const typed = cols.filter((col) => col.inTable)
  // Maps go in as JSON text and are cast: the appender's map values need a per-row type object.
  const ddl = typed.map((col) => `${col.name} ${col.type.startsWith('MAP(') ? 'VARCHAR' : col.type}`)
  await c.run(`CREATE TEMP TABLE ${name}_raw (${ddl.join(', ')})`)
  const appender = await c.createAppender(`${name}_raw`)
  for (const r of rows) {
    for (const col of typed) {
      const v = r[col.name]
      if (v === null || v === undefined) appender.appendNull()
      else if (col.type === 'TIMESTAMPTZ') appender.appendTimestampTZ(timestampTZValue(BigInt(v as number)))
      else if (col.type.startsWith('MAP(')) appender.appendVarchar(JSON.stringify(v))
      else if (col.type === 'INTEGER') appender.appendInteger(v as number)
      else if (col.type === 'BIGINT') appender.appendBigInt(BigInt(v as number))
      else if (col.type === 'DOUBLE') appender.appendDouble(v as number)
      else if (col.type === 'BOOLEAN') appender.appendBoolean(v as boolean)
      else appender.appendVarchar(String(v))
    }
    appender.endRow()
  }
  appender.closeSync()
  const proj = typed
    .map((col) =>
      col.type.startsWith('MAP(')
        ? `CAST(${col.name} AS JSON)::MAP(VARCHAR, VARCHAR) AS ${col.name}`
        : col.name,
    )
    .join(', ')
  await c.run(`CREATE TEMP TABLE ${name} AS SELECT ${proj} FROM ${name}_raw`)
}

/** dev/sessions-view.sql (DuckDB version) over `session_rows`: one row per session. */
const SESSIONS_LATEST = [
  `session_ranked AS (
  SELECT s.*,
         min(created_at) OVER (PARTITION BY session_id) AS first_created_at,
         row_number() OVER (PARTITION BY session_id ORDER BY updated_at DESC, site_id, created_at) AS rn
  FROM session_rows s)`,
  `session_ids AS (
  SELECT session_id, arg_max(distinct_id, updated_at) AS distinct_id
  FROM session_rows WHERE distinct_id IS NOT NULL GROUP BY session_id)`,
  `session_kv AS (
  SELECT session_id, e.key AS k, arg_max(e.value, updated_at) AS v
  FROM (SELECT session_id, updated_at, unnest(map_entries(session_data)) AS e FROM session_rows)
  GROUP BY session_id, e.key)`,
  `session_maps AS (
  SELECT session_id, map_from_entries(list(struct_pack(k := k, v := v))) AS session_data
  FROM session_kv GROUP BY session_id)`,
  `sessions AS (
  SELECT r.session_id, r.site_id, r.first_created_at AS created_at, r.updated_at, r.browser, r.os,
         r.device, r.screen, r.language, r.country, r.region, r.city, i.distinct_id, d.session_data
  FROM session_ranked r
  LEFT JOIN session_ids i ON i.session_id = r.session_id
  LEFT JOIN session_maps d ON d.session_id = r.session_id
  WHERE r.rn = 1)`,
]
