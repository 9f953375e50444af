/**
 * Compaction against the real JDBC catalog in PostgreSQL and a real S3-protocol server (s3rver):
 * rows are read back with DuckDB (from the data files python3-avro lists) and icebird (full scan)
 * before and after; a concurrent append racing the replace commit lands on both sides; two
 * compactions of the same files: one commits, the other gives up and leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import type { Catalog } from '../../src/table/catalog.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { S3FileIO } from '../../src/storage/s3.ts'
import { createTableWriter, type TableWriter } from '../../src/write/append.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'
import { compactTable } from '../../src/maintenance/compact.ts'
import { MaintenanceConflictError } from '../../src/errors.ts'
import type { EventRow } from '../../src/rows.ts'
import { createTestDatabase } from '../support/pg.ts'
import { startTestS3, type TestS3, testS3FileIO } from '../support/s3.ts'
import { sampleEvents } from '../support/rows.ts'
import { currentDataFiles, expectDuckDbRows, expectIcebirdRows, type S3Paths } from '../support/append-e2e.ts'
import { localPathResolver, sqlString, withDuckDb } from '../support/iceberg-check.ts'

const defs = loadTableDefinitions()
const id = { namespace: ['analytics'], name: 'pa_events' }
let s3: TestS3
let paths: S3Paths
let io: S3FileIO
let db: { url: string; drop: () => Promise<void> }
let sql: PgSql
let catalog: JdbcCatalog
let writer: TableWriter
let events: EventRow[] = []

async function appendBatches(n: number, size: number): Promise<void> {
  for (let b = 0; b < n; b++) {
    const rows = sampleEvents(size, 0, events.length)
    await writer.append('pa_events', rows)
    events = [...events, ...rows]
  }
}

const compact = (c: Catalog = catalog, extra: Partial<Parameters<typeof compactTable>[0]> = {}) =>
  compactTable({
    io,
    catalog: c,
    id,
    definition: defs.pa_events,
    quietMs: 0,
    batchRows: 1000,
    sleep: async () => {},
    ...extra,
  })

async function expectRows(): Promise<void> {
  const loaded = await writer.load('pa_events')
  await expectDuckDbRows('pa_events', currentDataFiles(loaded, paths), events, paths)
  await expectIcebirdRows('pa_events', loaded, events, paths)
}

beforeAll(async () => {
  s3 = await startTestS3('floe-compact')
  paths = { dir: s3.dir, endpoint: s3.endpoint }
  io = testS3FileIO(s3)
  db = await createTestDatabase('floe_compact')
  sql = new PgSql(db.url)
  catalog = new JdbcCatalog({ sql, io, name: 'floe' })
  writer = createTableWriter({ catalog, io, namespace: ['analytics'], warehouse: `s3://${s3.bucket}/wh` })
  await writer.ensureTables()
})

afterAll(async () => {
  await io?.close()
  await s3?.stop()
  await sql?.close()
  await db?.drop()
  if (s3) rmSync(s3.dir, { recursive: true, force: true })
})

describe('compaction', { timeout: 150_000 }, () => {
  it('rewrites the small files of each partition into one sorted file; every row exactly once', async () => {
    // 7 files in each of the 2 site partitions of the second day; the first two rows fall on the
    // day before (one file per site there, nothing to compact).
    await appendBatches(7, 30)
    const before = currentDataFiles(await writer.load('pa_events'), paths)
    expect(before.length).toBe(16)
    await expectRows()

    const result = await compact()
    expect(result).toMatchObject({ groups: 2, filesRewritten: 14, filesWritten: 2, records: 208 })

    const loaded = await writer.load('pa_events')
    const after = currentDataFiles(loaded, paths)
    expect(after.length).toBe(4)
    const snap = loaded.metadata.snapshots.at(-1)!
    expect(snap.summary).toMatchObject({
      operation: 'replace',
      'added-data-files': '2',
      'deleted-data-files': '14',
      'added-records': '208',
      'deleted-records': '208',
      'total-records': '210',
      'total-data-files': '4',
    })
    await expectRows()
    // The new files are sorted by the declared order (site_id, event_time), as DuckDB reads them.
    const local = localPathResolver(paths)
    const rewritten = after.filter((f) => f.record_count > 1)
    expect(rewritten.length).toBe(2)
    for (const f of rewritten) {
      const times = await withDuckDb(async (run) =>
        (await run(`SELECT event_time FROM read_parquet(${sqlString(local(f.file_path))})`)).map((r) =>
          String(r.event_time),
        ),
      )
      expect(times.length).toBe(f.record_count)
      expect(times).toEqual([...times].sort())
    }
    // Nothing to do on the next run: every partition is one file now.
    expect((await compact()).groups).toBe(0)
  })

  it('streams output files larger than one upload part as multipart uploads; metrics from the footer', async () => {
    await appendBatches(6, 1000)
    // The same server through a FileIO with 16 KiB parts, recording what its real client sends.
    const streaming = testS3FileIO(s3, { partSizeBytes: 16 * 1024 })
    const sent: string[] = []
    streaming.client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(context.commandName ?? '?')
        return next(args)
      },
      { step: 'initialize' },
    )
    const result = await compact(catalog, { io: streaming, batchRows: 500 })
    expect(result.filesWritten).toBeGreaterThan(0)
    // Every output file (each over three parts, below) went up as a multipart upload.
    expect(sent.filter((c) => c === 'CompleteMultipartUploadCommand').length).toBe(result.filesWritten)
    expect(sent.filter((c) => c === 'UploadPartCommand').length).toBeGreaterThanOrEqual(
      3 * result.filesWritten,
    )
    const loaded = await writer.load('pa_events')
    expect(loaded.metadata.snapshots.at(-1)!.summary.operation).toBe('replace')
    // The manifest's size (counted as the file streamed; python3-avro reads it) is the object's.
    const added = currentDataFiles(loaded, paths).filter((f) => f.record_count > 1000)
    expect(added.length).toBe(result.filesWritten)
    for (const f of added) {
      const bytes = await io.read(f.file_path)
      expect(f.file_size_in_bytes).toBe(bytes.byteLength)
      expect(f.file_size_in_bytes).toBeGreaterThan(3 * 16 * 1024)
    }
    await expectRows()
    await streaming.close()
  })

  it('sorts a partition larger than one batch fully (spilled runs, k-way merge)', async () => {
    // 600 rows in 6 files whose event times interleave: later files hold earlier times too, so
    // no order of the files and no per-batch sort gives a sorted output.
    const total = 600
    const base = sampleEvents(1, 0, 2)[0].event_time + 10_000_000
    for (let b = 0; b < 6; b++) {
      const rows = sampleEvents(100, 0, events.length).map((r, j) => ({
        ...r,
        event_time: base + (((b * 100 + j) * 7919) % total) * 1_000_000,
      }))
      await writer.append('pa_events', rows)
      events = [...events, ...rows]
    }
    const spillDir = mkdtempSync(path.join(tmpdir(), 'floe-compact-spill-'))
    const result = await compact(catalog, { batchRows: 100, spillDir })
    expect(result.filesWritten).toBe(2) // one per site
    expect(readdirSync(spillDir)).toEqual([]) // the runs are gone
    rmSync(spillDir, { recursive: true, force: true })
    const local = localPathResolver(paths)
    const added = currentDataFiles(await writer.load('pa_events'), paths).filter((f) => f.record_count >= 300)
    expect(added.length).toBe(2)
    for (const f of added) {
      expect(f.sort_order_id).toBe(1)
      // DuckDB's text form of these same-day timestamps has one width, so text order is time order.
      const times = await withDuckDb(async (run) =>
        (await run(`SELECT event_time FROM read_parquet(${sqlString(local(f.file_path))})`)).map((r) =>
          String(r.event_time),
        ),
      )
      expect(times.length).toBe(f.record_count)
      expect(new Set(times.map((t) => t.length)).size).toBe(1)
      expect(new Set(times).size).toBeGreaterThan(300)
      expect(times).toEqual([...times].sort())
    }
    await expectRows()
  })

  it('an upload failing midway leaves no spill folder, no new file and the table as it was', async () => {
    await appendBatches(6, 100)
    const before = await writer.load('pa_events')
    const table = `s3://${s3.bucket}/wh/analytics/pa_events/`
    const filesBefore = await io.list(table)
    const spillDir = mkdtempSync(path.join(tmpdir(), 'floe-compact-spill-'))
    // The real S3 FileIO, except that a data file upload dies after its first chunk.
    const failing = testS3FileIO(s3)
    const realWriteStream = failing.writeStream.bind(failing)
    failing.writeStream = async (uri, chunks) =>
      realWriteStream(
        uri,
        (async function* () {
          for await (const c of chunks) {
            yield c
            throw new Error('connection reset during upload')
          }
        })(),
      )
    await expect(compact(catalog, { io: failing, batchRows: 100, spillDir })).rejects.toThrow(
      /connection reset/,
    )
    expect(readdirSync(spillDir)).toEqual([])
    rmSync(spillDir, { recursive: true, force: true })
    const after = await writer.load('pa_events')
    expect(after.metadata['current-snapshot-id']).toBe(before.metadata['current-snapshot-id'])
    expect(await io.list(table)).toEqual(filesBefore)
    await expectRows()
    await failing.close()
  })

  it('an append racing the replace commit lands, and so does the compaction', async () => {
    await appendBatches(6, 20)
    let raced = false
    const racing: Catalog = {
      type: catalog.type,
      name: catalog.name,
      listNamespaces: () => catalog.listNamespaces(),
      createNamespaceIfAbsent: (ns) => catalog.createNamespaceIfAbsent(ns),
      listTables: (ns) => catalog.listTables(ns),
      loadTable: (tid) => catalog.loadTable(tid),
      createTableIfAbsent: (tid, m) => catalog.createTableIfAbsent(tid, m),
      close: async () => {},
      commit: async (tid, requirements, updates, options) => {
        const added = updates.find((u) => u.action === 'add-snapshot')
        const op = added && 'snapshot' in added ? added.snapshot.summary.operation : undefined
        if (op === 'replace' && !raced) {
          raced = true
          await appendBatches(1, 10) // another writer commits first: the replace's base is stale
        }
        return catalog.commit(tid, requirements, updates, options)
      },
    }
    const result = await compact(racing)
    expect(raced).toBe(true)
    expect(result.attempts).toBe(2)
    const loaded = await writer.load('pa_events')
    const ops = loaded.metadata.snapshots.slice(-2).map((s) => s.summary.operation)
    expect(ops).toEqual(['append', 'replace'])
    await expectRows()
  })

  it('two compactions of the same files: one commits, the other gives up and leaves no file', async () => {
    await appendBatches(6, 20)
    const listBefore = new Set(await io.list(`s3://${s3.bucket}/wh/analytics/pa_events/`))
    // Both plan and write their files before either commits.
    let ready = 0
    let release!: () => void
    const bothWritten = new Promise<void>((r) => (release = r))
    const barrier = async () => {
      if (++ready === 2) release()
      await bothWritten
    }
    const results = await Promise.allSettled([
      compact(catalog, { beforeCommit: barrier }),
      compact(catalog, { beforeCommit: barrier }),
    ])
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(won.length).toBe(1)
    expect(lost.length).toBe(1)
    expect(lost[0].reason).toBeInstanceOf(MaintenanceConflictError)
    await expectRows()
    // The loser deleted what it wrote: every new file in the warehouse is referenced by the winner.
    const loaded = await writer.load('pa_events')
    const live = new Set(currentDataFiles(loaded, paths).map((f) => f.file_path))
    const newParquet = (await io.list(`s3://${s3.bucket}/wh/analytics/pa_events/`)).filter(
      (u) => !listBefore.has(u) && u.endsWith('.parquet'),
    )
    expect(newParquet.length).toBeGreaterThan(0)
    for (const u of newParquet) expect(live.has(u)).toBe(true)
  })
})
