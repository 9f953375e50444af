/**
 * Long run: many small commits (50 events each, event times one second apart, so the run covers
 * simulated days of `day(event_time)` partitions) into two `pa_events` tables side by side, each
 * through the JDBC catalog in the local PostgreSQL and a local-folder warehouse:
 *
 * - ON: Floe's table properties (merging appends, metadata cleanup after commit,
 *   `floe.history.max-snapshots` = 100) and snapshot expiry run every `LONG_RUN_EXPIRE_EVERY`
 *   commits, as the maintenance scheduler would;
 * - OFF: the same table with merging and cleanup switched off and no expiry (what Floe did
 *   before issue 15). OFF grows quadratically, so it stops after `LONG_RUN_OFF_COMMITS`.
 *
 * Every `LONG_RUN_EVERY` commits it prints, per side: Floe's CPU per flush (process CPU time of the
 * append, median over the last interval), the size of the current metadata.json, manifests in the
 * current list, metadata bytes on disk (metadata/ folder: JSON, lists, manifests), live data files
 * per partition, and full-scan time of the current snapshot with DuckDB (read_parquet over the live
 * files, 1 thread) and icebird. Compaction (the data files per partition and the scan) belongs to
 * the maintenance-ops branch and is not run here.
 *
 *   LONG_RUN_COMMITS=3000 LONG_RUN_EVERY=500 npx tsx bench/long-run.ts
 *
 * Env: LONG_RUN_COMMITS (default 50000), LONG_RUN_EVERY (1000), LONG_RUN_OFF_COMMITS (3000),
 * LONG_RUN_EXPIRE_EVERY (100), LONG_RUN_EVENTS (50 per commit), LONG_RUN_SCAN (1 = scan at every
 * print, 0 = never).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { JdbcCatalog } from '../src/commit/jdbc.ts'
import { expireSnapshots } from '../src/maintenance/expire.ts'
import { LocalFileIO, fileUri, localPath } from '../src/storage/local.ts'
import { PgSql } from '../src/storage/pg.ts'
import { readAvroFile } from '../src/write/avro.ts'
import { createTableWriter, type TableWriter } from '../src/write/append.ts'
import { currentManifests } from '../src/write/manifest-list.ts'
import { loadTableDefinitions } from '../src/write/table-definition.ts'
import { icebirdScan } from '../test/support/iceberg-check.ts'
import { createTestDatabase } from '../test/support/pg.ts'
import { sampleEvents } from '../test/support/rows.ts'

const env = (k: string, d: number) => Number(process.env[k] ?? d)
const COMMITS = env('LONG_RUN_COMMITS', 50_000)
const EVERY = env('LONG_RUN_EVERY', 1000)
const OFF_COMMITS = Math.min(COMMITS, env('LONG_RUN_OFF_COMMITS', 3000))
const EXPIRE_EVERY = env('LONG_RUN_EXPIRE_EVERY', 100)
const EVENTS = env('LONG_RUN_EVENTS', 50)
const SCAN = env('LONG_RUN_SCAN', 1) === 1

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN)
const kb = (n: number) =>
  n < 1024 * 1024 ? `${(n / 1024).toFixed(0)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`

interface Side {
  name: string
  writer: TableWriter
  catalog: JdbcCatalog
  dir: string
  cpu: number[]
  expireMs: number
  close(): Promise<void>
}

const io = new LocalFileIO()
const root = mkdtempSync(path.join(tmpdir(), 'floe-long-run-'))

async function side(name: 'ON' | 'OFF'): Promise<Side> {
  const db = await createTestDatabase(`floe_long_${name.toLowerCase()}`)
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
    namespace: ['analytics'],
    warehouse: fileUri(dir),
    definitions,
  })
  await writer.ensureTables()
  return {
    name,
    writer,
    catalog,
    dir,
    cpu: [],
    expireMs: 0,
    async close() {
      await sql.close()
      await db.drop()
    },
  }
}

function bytesUnder(dir: string): number {
  let n = 0
  for (const d of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (d.isFile()) n += statSync(path.join(d.parentPath, d.name)).size
  return n
}

async function stats(s: Side, duck: Awaited<ReturnType<DuckDBInstance['connect']>>) {
  const t = await s.writer.load('pa_events')
  const manifests = await currentManifests(io, t.metadata)
  const files: string[] = []
  const partitions = new Set<string>()
  for (const m of manifests)
    for (const e of readAvroFile<{ status: number; data_file: { file_path: string; partition: unknown } }>(
      await io.read(m.manifest_path),
    ).records)
      if (e.status !== 2) {
        files.push(localPath(e.data_file.file_path))
        partitions.add(JSON.stringify(e.data_file.partition))
      }
  let duckMs = NaN
  let icebirdMs = NaN
  if (SCAN) {
    const list = files.map((f) => `'${f}'`).join(',')
    let t0 = performance.now()
    const r = await duck.runAndReadAll(`SELECT count(*) AS n FROM read_parquet([${list}])`)
    duckMs = performance.now() - t0
    const n = Number(r.getRowObjects()[0].n)
    t0 = performance.now()
    const rows = await icebirdScan(t.metadataLocation)
    icebirdMs = performance.now() - t0
    if (n !== rows.length) throw new Error(`${s.name}: DuckDB ${n} rows, icebird ${rows.length}`)
  }
  return {
    cpu: median(s.cpu),
    metadataJson: statSync(localPath(t.metadataLocation)).size,
    manifests: manifests.length,
    metadataBytes: bytesUnder(path.join(s.dir, 'analytics', 'pa_events', 'metadata')),
    metadataFiles: readdirSync(path.join(s.dir, 'analytics', 'pa_events', 'metadata')).filter((f) =>
      f.endsWith('.metadata.json'),
    ).length,
    snapshots: t.metadata.snapshots.length,
    filesPerPartition: files.length / Math.max(1, partitions.size),
    duckMs,
    icebirdMs,
  }
}

async function commit(s: Side, i: number): Promise<void> {
  const rows = sampleEvents(EVENTS, 0, i * EVENTS)
  const c0 = process.cpuUsage()
  await s.writer.append('pa_events', rows)
  const c = process.cpuUsage(c0)
  s.cpu.push((c.user + c.system) / 1000)
  if (s.name === 'ON' && (i + 1) % EXPIRE_EVERY === 0) {
    const t0 = performance.now()
    await expireSnapshots({ catalog: s.catalog, io, id: { namespace: ['analytics'], name: 'pa_events' } })
    s.expireMs += performance.now() - t0
  }
}

const on = await side('ON')
const off = await side('OFF')
const duckDb = await DuckDBInstance.create(':memory:', { threads: '1' })
const duck = await duckDb.connect()
const header =
  'commits | side | CPU/flush | metadata.json | manifests/list | metadata files | metadata bytes | snapshots | data files/partition | DuckDB scan | icebird scan'
console.log(
  `long run: ${COMMITS} commits (OFF until ${OFF_COMMITS}), ${EVENTS} events each, expiry every ${EXPIRE_EVERY}`,
)
console.log(header)
console.log(header.replace(/[^|]/g, '-'))
try {
  const started = performance.now()
  for (let i = 0; i < COMMITS; i++) {
    await commit(on, i)
    if (i < OFF_COMMITS) await commit(off, i)
    if ((i + 1) % EVERY === 0 || i + 1 === COMMITS) {
      for (const s of i < OFF_COMMITS ? [on, off] : [on]) {
        const r = await stats(s, duck)
        console.log(
          [
            i + 1,
            s.name,
            `${r.cpu.toFixed(1)} ms`,
            kb(r.metadataJson),
            r.manifests,
            r.metadataFiles,
            kb(r.metadataBytes),
            r.snapshots,
            r.filesPerPartition.toFixed(1),
            `${r.duckMs.toFixed(0)} ms`,
            `${r.icebirdMs.toFixed(0)} ms`,
          ].join(' | '),
        )
        s.cpu = []
      }
    }
  }
  console.log(
    `wall ${((performance.now() - started) / 1000).toFixed(0)} s; expiry on ON took ${(on.expireMs / 1000).toFixed(1)} s in total`,
  )
} finally {
  duck.closeSync()
  duckDb.closeSync()
  await on.close()
  await off.close()
  rmSync(root, { recursive: true, force: true })
}
