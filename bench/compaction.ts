/**
 * Compaction: a full DuckDB scan of one compacted day vs the same rows in one file (the reference,
 * written by Floe's encoder in one call), and vs the small flush files before compaction; plus the
 * compaction's wall time and peak RSS on that partition, which must not grow with the partition.
 *
 *   BENCH_FLUSHES=400 BENCH_ROWS_PER_FLUSH=500 npx tsx bench/compaction.ts
 *
 * Local folder warehouse, hadoop catalog (no database needed; the commit path is the same core).
 * All rows fall into one partition (one site, one day), so the whole table is one "day".
 *
 * `BENCH_S3=1`: the warehouse is on a real S3-protocol server (s3rver) with the JDBC catalog in the
 * local PostgreSQL, and compaction streams its output as multipart uploads of `BENCH_PART_MB`
 * (default 5, S3's minimum) per part; the bench prints the output file's size and parts, so a
 * partition whose output is several times the part size shows that the peak RSS follows the part
 * size and the batch, not the partition:
 *
 *   BENCH_S3=1 BENCH_FLUSHES=200 BENCH_ROWS_PER_FLUSH=2000 BENCH_BATCH_ROWS=10000 npx tsx bench/compaction.ts
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { eventRows } from '../test/write/support/event-rows.ts'
import { LocalFileIO, fileUri, localPath } from '../src/storage/local.ts'
import { HadoopCatalog } from '../src/commit/hadoop.ts'
import { JdbcCatalog } from '../src/commit/jdbc.ts'
import type { Catalog } from '../src/table/catalog.ts'
import type { FileIO } from '../src/storage/file-io.ts'
import { PgSql } from '../src/storage/pg.ts'
import { startTestS3, testS3FileIO } from '../test/support/s3.ts'
import { createTestDatabase } from '../test/support/pg.ts'
import { localPathResolver } from '../test/support/iceberg-check.ts'
import { createTableWriter } from '../src/write/append.ts'
import { loadTableDefinitions } from '../src/write/table-definition.ts'
import { encodeParquet } from '../src/write/parquet.ts'
import { compactTable } from '../src/maintenance/compact.ts'
import { snapshotContents } from '../src/scan/snapshot.ts'

const FLUSHES = Number(process.env.BENCH_FLUSHES ?? 400)
const ROWS = Number(process.env.BENCH_ROWS_PER_FLUSH ?? 500)
const BATCH_ROWS = Number(process.env.BENCH_BATCH_ROWS ?? 50_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const ON_S3 = process.env.BENCH_S3 === '1'
const PART_MB = Number(process.env.BENCH_PART_MB ?? 5)

const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-bench-compact-'))
const s3 = ON_S3 ? await startTestS3('floe-bench-compact') : undefined
const db = ON_S3 ? await createTestDatabase('maint_longrun_compact') : undefined
const sql = db ? new PgSql(db.url) : undefined
/** S3 operations the real client sent (a middleware on it), to count the upload parts. */
const sent: string[] = []
let io: FileIO
let catalog: Catalog
let warehouse: string
if (s3 && sql) {
  const s3io = testS3FileIO(s3, { partSizeBytes: PART_MB * 1024 * 1024 })
  s3io.client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(context.commandName ?? '?')
      return next(args)
    },
    { step: 'initialize' },
  )
  io = s3io
  catalog = new JdbcCatalog({ sql, io, name: 'bench' })
  warehouse = `s3://${s3.bucket}/wh`
} else {
  io = new LocalFileIO()
  catalog = new HadoopCatalog({ io, warehouse: fileUri(dir), name: 'bench' })
  warehouse = fileUri(dir)
}
const toLocal = s3 ? localPathResolver(s3) : localPath
const defs = loadTableDefinitions()
const writer = createTableWriter({ catalog, io, namespace: ['analytics'], warehouse })
const id = { namespace: ['analytics'], name: 'pa_events' }

async function liveFiles(): Promise<string[]> {
  const t = await writer.load('pa_events')
  return (await snapshotContents(io, t.metadata)).dataFiles.map((f) => toLocal(f.path))
}

/** Median ms of a full scan (every column materialised) of `files` with DuckDB, one thread. */
async function scanMs(files: string[]): Promise<{ ms: number; rows: number }> {
  const db = await DuckDBInstance.create(':memory:', { threads: '1' })
  const conn = await db.connect()
  const list = files.map((f) => `'${f}'`).join(',')
  const times: number[] = []
  let rows = 0
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now()
    const res = await conn.runAndReadAll(
      `SELECT count(*) AS n, sum(hash(COLUMNS(*))) AS h FROM read_parquet([${list}])`,
    )
    times.push(performance.now() - t0)
    rows = Number(res.getRowObjectsJS()[0].n)
  }
  conn.closeSync()
  db.closeSync()
  return { ms: times.sort((a, b) => a - b)[Math.floor(times.length / 2)], rows }
}

await writer.ensureTables()
const start = Date.parse('2026-11-24T00:00:00Z') * 1000
// Each flush covers the next slice of one day; rows are generated per flush (and again for the
// reference afterwards) so this process does not hold the partition while compaction is measured.
const SITE = '3f2b8c1a-5d4e-4f6a-9b7c-2e1d0c9b8a71'
const flushRows = (f: number) =>
  eventRows(ROWS, {
    sites: 1,
    start: start + f * Math.floor(86_000e6 / FLUSHES),
    days: 0.99 / FLUSHES,
    seed: f + 1,
  }).map((r) => ({ ...r, site_id: SITE }))
for (let f = 0; f < FLUSHES; f++) await writer.append('pa_events', flushRows(f))
const small = await liveFiles()

let peak = process.memoryUsage().rss
const rssBefore = peak
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
sent.length = 0
const t0 = performance.now()
const result = await compactTable({
  io,
  catalog,
  id,
  definition: defs.pa_events,
  quietMs: 0,
  batchRows: BATCH_ROWS,
})
const compactMs = performance.now() - t0
clearInterval(sampler)
const compacted = await liveFiles()
if (result.filesRewritten !== small.length)
  throw new Error(`expected every flush file rewritten: ${JSON.stringify(result)}`)

// The reference: the same rows, one file, one encoder call.
const oneFile = path.join(dir, 'one-file.parquet')
writeFileSync(
  oneFile,
  encodeParquet(defs.pa_events.schema, Array.from({ length: FLUSHES }, (_, f) => flushRows(f)).flat()),
)

const ref = await scanMs([oneFile])
const before = await scanMs(small)
const after = await scanMs(compacted)
if (before.rows !== ref.rows || after.rows !== ref.rows) throw new Error('row counts differ')

const fmt = (n: number) => n.toFixed(1)
console.log(`rows ${ref.rows} in one partition; ${small.length} flush files -> ${compacted.length} compacted`)
console.log(
  `compaction: ${fmt(compactMs)} ms, ${result.filesRewritten} files rewritten, batch ${BATCH_ROWS} rows`,
)
console.log(
  `peak RSS during compaction: ${fmt(peak / 2 ** 20)} MB (${fmt((peak - rssBefore) / 2 ** 20)} MB above the ${fmt(rssBefore / 2 ** 20)} MB before)`,
)
const outBytes = compacted.reduce((n, f) => n + statSync(f).size, 0)
console.log(
  `output: ${compacted.length} file(s), ${fmt(outBytes / 2 ** 20)} MB` +
    (ON_S3
      ? `; S3: ${sent.filter((c) => c === 'UploadPartCommand').length} parts of >= ${PART_MB} MB in ${sent.filter((c) => c === 'CompleteMultipartUploadCommand').length} multipart upload(s)`
      : ' (local disk: streamed to a temp file)'),
)
console.log(`DuckDB full scan, one file (reference): ${fmt(ref.ms)} ms`)
console.log(`  small flush files: ${fmt(before.ms)} ms = ${(before.ms / ref.ms).toFixed(2)}x`)
console.log(`  compacted:         ${fmt(after.ms)} ms = ${(after.ms / ref.ms).toFixed(2)}x (target <= 2x)`)
rmSync(dir, { recursive: true, force: true })
if (s3) {
  await s3.stop()
  rmSync(s3.dir, { recursive: true, force: true })
}
await sql?.close()
await db?.drop()
