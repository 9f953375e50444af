/**
 * Time of one full flush-and-commit of 1000 events: TableWriter.append (validate → Parquet per
 * partition → manifest → manifest list → metadata JSON → JDBC compare-and-swap) into a local-folder
 * warehouse and the local PostgreSQL (127.0.0.1:5432). Target: median under 100 ms.
 *
 * Reference measured in the same run: DuckDB (1 thread) writing the same 1000 rows from NDJSON to
 * one ZSTD Parquet file (read_json + COPY), i.e. encoding alone, without any Iceberg metadata or
 * catalog commit.
 *
 *   npx tsx bench/flush-commit.ts [runs=15]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { JdbcCatalog } from '../src/commit/jdbc.ts'
import { LocalFileIO, fileUri } from '../src/storage/local.ts'
import { PgSql } from '../src/storage/pg.ts'
import { createTableWriter } from '../src/write/append.ts'
import type { FileIO } from '../src/storage/file-io.ts'
import type { SqlClient } from '../src/storage/sql.ts'
import { createTestDatabase } from '../test/support/pg.ts'
import { sampleEvents, sampleSessions } from '../test/support/rows.ts'

const RUNS = Number(process.argv[2] ?? 15)
const WARMUP = 8
const EVENTS = 1000

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const p90 = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))]
const fmt = (ms: number) => `${ms.toFixed(1)} ms`

const dir = mkdtempSync(path.join(tmpdir(), 'floe-bench-flush-'))
const db = await createTestDatabase('floe_bench')
const sql = new PgSql(db.url)
try {
  // Thin timing wrappers: how much of a flush is storage I/O (incl. fsync) and SQL, the rest is CPU.
  let ioSqlMs = 0
  const timed = async <T>(f: () => Promise<T>): Promise<T> => {
    const t = performance.now()
    try {
      return await f()
    } finally {
      ioSqlMs += performance.now() - t
    }
  }
  const local = new LocalFileIO()
  const io: FileIO = {
    conditionalWrites: true,
    read: (u) => timed(() => local.read(u)),
    write: (u, b) => timed(() => local.write(u, b)),
    writeIfAbsent: (u, b) => timed(() => local.writeIfAbsent(u, b)),
    writeStream: (u, c) => timed(() => local.writeStream(u, c)),
    exists: (u) => timed(() => local.exists(u)),
    delete: (u) => timed(() => local.delete(u)),
    list: (p) => timed(() => local.list(p)),
    listWithTimes: (p) => timed(() => local.listWithTimes(p)),
  }
  const timedSql: SqlClient = {
    dialect: sql.dialect,
    query: (t, p) => timed(() => sql.query(t, p)),
    transaction: (f) => sql.transaction(f),
    close: () => sql.close(),
  }
  const catalog = new JdbcCatalog({ sql: timedSql, io, name: 'floe_bench' })
  const writer = createTableWriter({
    catalog,
    io,
    namespace: ['analytics'],
    warehouse: fileUri(path.join(dir, 'wh')),
  })
  await writer.ensureTables()

  // Floe: 1000 events per flush (2 sites × 2 days = 4 data files), then the same plus its sessions.
  // (Both loops share the warm-up; writes are sequential, as one Floe process flushes.)
  const eventsOnly: number[] = []
  const ioShare: number[] = []
  const withSessions: number[] = []
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const events = sampleEvents(EVENTS, 1, i * EVENTS)
    ioSqlMs = 0
    const t0 = performance.now()
    await writer.append('pa_events', events)
    const t1 = performance.now()
    if (i >= WARMUP) {
      eventsOnly.push(t1 - t0)
      ioShare.push(ioSqlMs)
    }
  }
  for (let i = 0; i < RUNS; i++) {
    const events = sampleEvents(EVENTS, 2, i * EVENTS)
    const sessions = sampleSessions(EVENTS / 5, 2, i * EVENTS)
    const t0 = performance.now()
    await writer.append('pa_events', events)
    await writer.append('pa_sessions', sessions)
    const t1 = performance.now()
    withSessions.push(t1 - t0)
  }

  // Reference: DuckDB encodes the same rows to one Parquet file.
  const ndjson = path.join(dir, 'events.ndjson')
  writeFileSync(
    ndjson,
    sampleEvents(EVENTS, 3, 0)
      .map((r) => JSON.stringify(r))
      .join('\n'),
  )
  const duck = await DuckDBInstance.create(':memory:', { threads: '1' })
  const conn = await duck.connect()
  const duckTimes: number[] = []
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const out = path.join(dir, `duck-${i}.parquet`)
    const t0 = performance.now()
    await conn.run(
      `COPY (SELECT * FROM read_json('${ndjson}')) TO '${out}' (FORMAT parquet, COMPRESSION zstd)`,
    )
    const t1 = performance.now()
    if (i >= WARMUP) duckTimes.push(t1 - t0)
  }
  conn.closeSync()
  duck.closeSync()

  const m = median(eventsOnly)
  const mRef = median(duckTimes)
  console.log(
    `flush-and-commit of ${EVENTS} events, local folder + local PostgreSQL, ${RUNS} runs after ${WARMUP} warm-up`,
  )
  console.log(
    `  Floe append pa_events:            median ${fmt(m)}  p90 ${fmt(p90(eventsOnly))}  (target < 100 ms: ${m < 100 ? 'met' : 'NOT met'})`,
  )
  console.log(
    `    of which storage I/O (fsync'd writes) + SQL: median ${fmt(median(ioShare))}; the rest is CPU (validate, Parquet, Avro, JSON)`,
  )
  console.log(
    `  Floe append pa_events + sessions: median ${fmt(median(withSessions))}  p90 ${fmt(p90(withSessions))}`,
  )
  console.log(
    `  DuckDB read_json + COPY parquet:  median ${fmt(mRef)}  (reference: encoding only, no commit)`,
  )
  console.log(`  ratio Floe flush-and-commit / DuckDB encode: ${(m / mRef).toFixed(2)}x`)
} finally {
  await sql.close()
  await db.drop()
  rmSync(dir, { recursive: true, force: true })
}
