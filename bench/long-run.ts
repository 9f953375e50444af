/**
 * Long run: tens of thousands of small commits into two `pa_events` tables side by side, each
 * through the JDBC catalog in the local PostgreSQL and a local-folder warehouse. Each commit is
 * one simulated flush: `LONG_RUN_EVENTS` events spread over `LONG_RUN_SECONDS_PER_COMMIT` seconds
 * of event time (default 20 events per 30 s, Floe's default flush interval, so 2,880 commits make
 * one simulated day of `day(event_time)` × `site_id` partitions; `LONG_RUN_SITES` sites, default
 * one, so each flush writes one data file). The driver commits far faster than real time.
 *
 * - ON: Floe's table properties (merging appends, metadata cleanup after commit,
 *   `floe.history.max-snapshots` = 100) and, every `LONG_RUN_MAINTAIN_EVERY` commits, what the
 *   maintenance scheduler runs: snapshot expiry, then compaction of the quiet partitions. Quiet
 *   means no file added in the last `LONG_RUN_QUIET_COMMITS` commits (120 = one simulated hour,
 *   the default `FLOE_MAINTENANCE_COMPACT_QUIET_MINUTES`), so yesterday's partitions are compacted
 *   early each simulated day and today's is left alone.
 * - OFF: the same table with merging and cleanup switched off, no expiry and no compaction (what
 *   Floe did before issue 15). OFF grows quadratically, so it stops after `LONG_RUN_OFF_COMMITS`.
 *
 * At commit 1,000, every `LONG_RUN_EVERY` commits and at the end it prints, per side: Floe's CPU
 * per flush (process CPU time of the append, median over the interval, so it survives a loaded
 * machine), the current metadata.json size, manifests in the current list, metadata files and
 * bytes on disk (metadata/ folder: JSON, lists, manifests), live data files per partition (mean
 * and max) and data files on disk, rows, and a full scan of the current snapshot with DuckDB
 * (every column hashed, 1 thread, over the live files) and icebird (in windows of 100k rows; at
 * commit 1,000, at OFF's last commit and every `LONG_RUN_ICEBIRD_EVERY` commits, as it decodes every
 * row in JavaScript); plus the 1-minute load average.
 *
 * Compaction phase: the first `LONG_RUN_COMPACT_SAMPLES` compaction runs that rewrite anything
 * also measure one rewritten partition (one site's day): DuckDB full scan of its small flush
 * files (before), of the compacted files (after), and of the same rows written in one file by
 * Floe's encoder in one call (the reference); target: compacted within 2× of the one file.
 *
 *   LONG_RUN_COMMITS=50000 LONG_RUN_EVERY=5000 nice -n 19 npx tsx bench/long-run.ts
 *
 * Env: LONG_RUN_COMMITS (default 50000), LONG_RUN_EVERY (5000), LONG_RUN_OFF_COMMITS (2500),
 * LONG_RUN_MAINTAIN_EVERY (100), LONG_RUN_QUIET_COMMITS (120), LONG_RUN_EVENTS (20 per commit),
 * LONG_RUN_SECONDS_PER_COMMIT (30), LONG_RUN_SITES (1), LONG_RUN_COMPACT_SAMPLES (3),
 * LONG_RUN_SCAN (1 = scan at every print, 0 = never), LONG_RUN_ICEBIRD_EVERY (10000).
 * A side that fails keeps its warehouse (the path is printed): the files a reader failed on.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { JdbcCatalog } from '../src/commit/jdbc.ts'
import { expireSnapshots } from '../src/maintenance/expire.ts'
import { compactTable } from '../src/maintenance/compact.ts'
import { rowGroups } from '../src/maintenance/read-rows.ts'
import { partitionKey } from '../src/maintenance/plan.ts'
import { snapshotContents, type LiveFile } from '../src/scan/snapshot.ts'
import type { Row } from '../src/rows.ts'
import { LocalFileIO, fileUri, localPath } from '../src/storage/local.ts'
import { PgSql } from '../src/storage/pg.ts'
import { createTableWriter, type TableWriter } from '../src/write/append.ts'
import { encodeParquet } from '../src/write/parquet.ts'
import { loadTableDefinitions } from '../src/write/table-definition.ts'
import type { TableDefinition } from '../src/table/metadata.ts'
import { icebirdScanCount } from '../test/support/iceberg-check.ts'
import { createTestDatabase } from '../test/support/pg.ts'
import { SITES, T0, sampleEvents } from '../test/support/rows.ts'

const env = (k: string, d: number) => Number(process.env[k] ?? d)
const COMMITS = env('LONG_RUN_COMMITS', 50_000)
const EVERY = env('LONG_RUN_EVERY', 5000)
const OFF_COMMITS = Math.min(COMMITS, env('LONG_RUN_OFF_COMMITS', 2500))
const MAINTAIN_EVERY = env('LONG_RUN_MAINTAIN_EVERY', 100)
const QUIET_COMMITS = env('LONG_RUN_QUIET_COMMITS', 120)
const EVENTS = env('LONG_RUN_EVENTS', 20)
const SECONDS_PER_COMMIT = env('LONG_RUN_SECONDS_PER_COMMIT', 30)
const COMPACT_SAMPLES = env('LONG_RUN_COMPACT_SAMPLES', 3)
const SCAN = env('LONG_RUN_SCAN', 1) === 1
const ICEBIRD_EVERY = env('LONG_RUN_ICEBIRD_EVERY', 10_000)
const SITES_USED = env('LONG_RUN_SITES', 1)
/** Batch rows of compaction: the default `FLOE_MAINTENANCE_COMPACT_BATCH_ROWS`. */
const BATCH_ROWS = 50_000
const EVENT_SPACING_US = Math.floor((SECONDS_PER_COMMIT * 1e6) / EVENTS)

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN)
const size = (n: number) =>
  n < 1024 * 1024
    ? `${(n / 1024).toFixed(0)} KB`
    : n < 1024 ** 3
      ? `${(n / 1024 / 1024).toFixed(1)} MB`
      : `${(n / 1024 ** 3).toFixed(2)} GB`

interface Side {
  name: 'ON' | 'OFF'
  writer: TableWriter
  catalog: JdbcCatalog
  definition: TableDefinition
  dir: string
  cpu: number[]
  expireMs: number
  compactMs: number
  close(): Promise<void>
}

const io = new LocalFileIO()
const root = mkdtempSync(path.join(tmpdir(), 'floe-long-run-'))
const id = { namespace: ['analytics'], name: 'pa_events' }

async function side(name: 'ON' | 'OFF'): Promise<Side> {
  const db = await createTestDatabase(`maint_longrun_${name.toLowerCase()}`)
  const sql = new PgSql(db.url)
  const catalog = new JdbcCatalog({ sql, io, name: 'floe' })
  const definitions = loadTableDefinitions()
  if (name === 'OFF')
    Object.assign(definitions.pa_events.properties, {
      'commit.manifest-merge.enabled': 'false',
      'write.metadata.delete-after-commit.enabled': 'false',
    })
  const dir = path.join(root, name)
  const writer = createTableWriter({
    catalog,
    io,
    namespace: id.namespace,
    warehouse: fileUri(dir),
    definitions,
  })
  await writer.ensureTables()
  return {
    name,
    writer,
    catalog,
    definition: definitions.pa_events,
    dir,
    cpu: [],
    expireMs: 0,
    compactMs: 0,
    async close() {
      await sql.close()
      await db.drop()
    },
  }
}

function filesUnder(dir: string): { count: number; bytes: number } {
  let count = 0
  let bytes = 0
  for (const d of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (d.isFile()) {
      count++
      bytes += statSync(path.join(d.parentPath, d.name)).size
    }
  return { count, bytes }
}

const byPartition = (files: readonly LiveFile[]) => {
  const m = new Map<string, LiveFile[]>()
  for (const f of files) {
    const k = partitionKey(f.specId, f.partition)
    m.set(k, [...(m.get(k) ?? []), f])
  }
  return m
}

/** Median ms of a DuckDB full scan (every column hashed) of `files`, and the row count. */
async function duckScan(duck: DuckDBConnection, files: readonly string[], runs = 1) {
  const list = files.map((f) => `'${f}'`).join(',')
  const times: number[] = []
  let rows = 0
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now()
    const res = await duck.runAndReadAll(
      `SELECT count(*) AS n, sum(hash(COLUMNS(*))) AS h FROM read_parquet([${list}])`,
    )
    times.push(performance.now() - t0)
    rows = Number(res.getRowObjectsJS()[0].n)
  }
  return { ms: median(times), rows }
}

async function stats(s: Side, duck: DuckDBConnection, withIcebird: boolean) {
  const t = await s.writer.load('pa_events')
  const contents = await snapshotContents(io, t.metadata)
  const parts = byPartition(contents.dataFiles)
  const files = contents.dataFiles.map((f) => localPath(f.path))
  const rows = contents.dataFiles.reduce((n, f) => n + Number(f.records), 0)
  let duckMs = NaN
  let icebirdMs = NaN
  if (SCAN) {
    const d = await duckScan(duck, files)
    duckMs = d.ms
    if (d.rows !== rows) throw new Error(`${s.name}: manifests count ${rows} rows, DuckDB ${d.rows}`)
    if (withIcebird) {
      const t0 = performance.now()
      const n = await icebirdScanCount(t.metadataLocation)
      icebirdMs = performance.now() - t0
      if (n !== rows) throw new Error(`${s.name}: manifests count ${rows} rows, icebird ${n}`)
    }
  }
  const metadataDir = path.join(s.dir, 'analytics', 'pa_events', 'metadata')
  const meta = filesUnder(metadataDir)
  const data = filesUnder(path.join(s.dir, 'analytics', 'pa_events', 'data'))
  return {
    cpu: median(s.cpu),
    metadataJson: statSync(localPath(t.metadataLocation)).size,
    manifests: contents.manifests.length,
    metadataFiles: readdirSync(metadataDir).filter((f) => f.endsWith('.metadata.json')).length,
    metadataBytes: meta.bytes,
    snapshots: t.metadata.snapshots.length,
    filesPerPartition: files.length / Math.max(1, parts.size),
    maxFilesPerPartition: Math.max(0, ...[...parts.values()].map((l) => l.length)),
    partitions: parts.size,
    dataFilesOnDisk: data.count,
    rows,
    duckMs,
    icebirdMs,
  }
}

function rowsOf(i: number): Row[] {
  return sampleEvents(EVENTS, 0, i * EVENTS).map((r, k) => {
    const t = T0 + (i * EVENTS + k) * EVENT_SPACING_US
    return { ...r, site_id: SITES[(i * EVENTS + k) % SITES_USED], event_time: t, received_at: t + 1234 }
  })
}

/** When each commit landed (ms epoch), for the quiet window of compaction. */
const committedAt: number[] = []

async function commit(s: Side, i: number): Promise<void> {
  const c0 = process.cpuUsage()
  await s.writer.append('pa_events', rowsOf(i))
  const c = process.cpuUsage(c0)
  s.cpu.push((c.user + c.system) / 1000)
}

let compactSamples = 0

/** What the scheduler runs on ON: expiry, then compaction of the quiet partitions. */
async function maintain(s: Side, i: number, duck: DuckDBConnection): Promise<void> {
  let t0 = performance.now()
  await expireSnapshots({ catalog: s.catalog, io, id })
  s.expireMs += performance.now() - t0
  const quietSince = committedAt[i - QUIET_COMMITS]
  if (quietSince === undefined) return
  const sample = compactSamples < COMPACT_SAMPLES
  const before = sample
    ? byPartition((await snapshotContents(io, (await s.writer.load('pa_events')).metadata)).dataFiles)
    : undefined
  t0 = performance.now()
  const r = await compactTable({
    io,
    catalog: s.catalog,
    id,
    definition: s.definition,
    quietMs: Date.now() - quietSince,
    batchRows: BATCH_ROWS,
  })
  const ms = performance.now() - t0
  s.compactMs += ms
  if (!before || r.filesRewritten === 0) return
  compactSamples++
  const after = byPartition(
    (await snapshotContents(io, (await s.writer.load('pa_events')).metadata)).dataFiles,
  )
  const [key, small] = [...before].find(([k, l]) => {
    const a = after.get(k)
    return a !== undefined && a.length < l.length
  })!
  const compacted = after.get(key)!.map((f) => localPath(f.path))
  // The reference: the same rows in one file, one encoder call.
  const rows: Row[] = []
  for (const f of compacted)
    for await (const g of rowGroups(await io.read(fileUri(f)), s.definition.schema)) rows.push(...g)
  const oneFile = path.join(root, 'one-file.parquet')
  writeFileSync(oneFile, encodeParquet(s.definition.schema, rows))
  const ref = await duckScan(duck, [oneFile], 3)
  const b = await duckScan(
    duck,
    small.map((f) => localPath(f.path)),
    3,
  )
  const a = await duckScan(duck, compacted, 3)
  rmSync(oneFile)
  if (b.rows !== ref.rows || a.rows !== ref.rows) throw new Error('compaction phase: row counts differ')
  console.log(
    `compaction at commit ${i + 1}: ${r.groups} partitions, ${r.filesRewritten} files -> ${r.filesWritten} in ${(ms / 1000).toFixed(1)} s; ` +
      `partition ${key.slice(key.indexOf('|') + 1)}: ${ref.rows} rows, DuckDB full scan: ` +
      `${small.length} small files ${b.ms.toFixed(0)} ms = ${(b.ms / ref.ms).toFixed(2)}x, ` +
      `compacted (${compacted.length} file) ${a.ms.toFixed(0)} ms = ${(a.ms / ref.ms).toFixed(2)}x, ` +
      `one file ${ref.ms.toFixed(0)} ms (target <= 2x)`,
  )
}

/** One side's run; `emit` gets each printed row (the commit count first). */
async function runSide(name: 'ON' | 'OFF', commits: number, emit: (row: string) => void): Promise<void> {
  const s = await side(name)
  const duckDb = await DuckDBInstance.create(':memory:', { threads: '1' })
  const duck = await duckDb.connect()
  const started = performance.now()
  let failed = true
  try {
    for (let i = 0; i < commits; i++) {
      await commit(s, i)
      committedAt[i] = Date.now()
      if (name === 'ON' && (i + 1) % MAINTAIN_EVERY === 0) await maintain(s, i, duck)
      const n = i + 1
      if (n === 1000 || n % EVERY === 0 || n === commits) {
        const r = await stats(s, duck, n === 1000 || n % ICEBIRD_EVERY === 0 || n === commits)
        emit(
          [
            n,
            s.name,
            `${r.cpu.toFixed(1)} ms`,
            size(r.metadataJson),
            r.manifests,
            r.metadataFiles,
            size(r.metadataBytes),
            r.snapshots,
            `${r.filesPerPartition.toFixed(1)}, ${r.maxFilesPerPartition} (${r.partitions} partitions)`,
            r.dataFilesOnDisk,
            r.rows,
            `${r.duckMs.toFixed(0)} ms`,
            Number.isNaN(r.icebirdMs) ? '–' : `${r.icebirdMs.toFixed(0)} ms`,
            loadavg()[0].toFixed(1),
          ].join(' | '),
        )
        s.cpu = []
      }
    }
    console.log(
      `${name}: ${commits} commits, wall ${((performance.now() - started) / 1000).toFixed(0)} s` +
        (name === 'ON'
          ? `; expiry took ${(s.expireMs / 1000).toFixed(1)} s and compaction ${(s.compactMs / 1000).toFixed(1)} s in total`
          : ''),
    )
    failed = false
  } finally {
    duck.closeSync()
    duckDb.closeSync()
    await s.close()
    // A failed run keeps its warehouse: the files a reader choked on are the evidence.
    if (failed) console.error(`${name}: failed; warehouse kept in ${s.dir}`)
    else rmSync(root, { recursive: true, force: true })
  }
}

if (process.env.LONG_RUN_SIDE === 'OFF') {
  await runSide('OFF', OFF_COMMITS, (row) => console.log(`ROW ${row}`))
} else {
  const header =
    'commits | side | CPU/flush | metadata.json | manifests/list | metadata files | metadata bytes | snapshots | data files/partition (mean, max) | data files on disk | rows | DuckDB full scan | icebird full scan | load avg'
  console.log(
    `long run: ${COMMITS} commits (OFF until ${OFF_COMMITS}), ${EVENTS} events per commit over ${SECONDS_PER_COMMIT} s of event time ` +
      `(${Math.round(86_400 / SECONDS_PER_COMMIT)} commits per simulated day), ON: expiry + compaction every ${MAINTAIN_EVERY} commits, quiet after ${QUIET_COMMITS}`,
  )
  console.log(header)
  console.log(header.replace(/[^|]/g, '-'))
  // OFF runs in its own process beside ON (same nice level): the sides do not share a CPU clock,
  // and the run takes the time of the longer side only.
  const rows: string[] = []
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]], {
    env: { ...process.env, LONG_RUN_SIDE: 'OFF' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const offDone = new Promise<number | null>((resolve) => child.on('exit', resolve))
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('ROW ')) return console.log(line)
    rows.push(line.slice(4))
    console.log(line.slice(4))
  })
  await runSide('ON', COMMITS, (row) => {
    rows.push(row)
    console.log(row)
  })
  const code = await offDone
  if (code !== 0) throw new Error(`the OFF side exited with ${code}`)
  if (OFF_COMMITS < COMMITS)
    console.log(`OFF stopped at ${OFF_COMMITS} commits (its metadata grows quadratically); ON went on`)
  console.log('\nside by side:')
  console.log(header)
  console.log(header.replace(/[^|]/g, '-'))
  const key = (r: string) => Number(r.split(' | ')[0]) * 2 + (r.split(' | ')[1] === 'OFF' ? 1 : 0)
  for (const r of rows.sort((a, b) => key(a) - key(b))) console.log(r)
}
