/**
 * The append pipeline and its commit retry loop, against real files (LocalFileIO in a temp dir)
 * and an InMemoryTestCatalog that can force conflicts and unknown outcomes. The same pipeline
 * through the real JDBC catalog in Postgres is tested in test/write/append-*.test.ts.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { LocalFileIO, fileUri, localPath } from '../../src/storage/local.ts'
import type { FileIO } from '../../src/storage/file-io.ts'
import { createTableWriter, type TableWriter } from '../../src/write/append.ts'
import { CommitRetriesExhaustedError, SchemaMismatchError } from '../../src/errors.ts'
import { currentManifests } from '../../src/write/manifest-list.ts'
import { readAvroFile } from '../../src/write/avro.ts'
import type { Row } from '../../src/rows.ts'
import { InMemoryTestCatalog } from './support/in-memory-test-catalog.ts'
import { duckdbQuery } from './support/duckdb.ts'
import { eventRows } from './support/event-rows.ts'

function setup(io: FileIO = new LocalFileIO(), maxAttempts = 5) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-append-'))
  const catalog = new InMemoryTestCatalog(new LocalFileIO())
  const make = () =>
    createTableWriter({
      catalog,
      io,
      namespace: ['analytics'],
      warehouse: fileUri(dir),
      retry: { maxAttempts },
      sleep: async () => {},
    })
  return { dir, catalog, writer: make(), other: make(), tableDir: path.join(dir, 'analytics', 'pa_events') }
}

/** Data file paths of the table's current snapshot, read from its manifests. */
async function liveDataFiles(writer: TableWriter): Promise<string[]> {
  const io = new LocalFileIO()
  const { metadata } = await writer.load('pa_events')
  const out: string[] = []
  for (const m of await currentManifests(io, metadata)) {
    const entries = readAvroFile<{ data_file: { file_path: string } }>(await io.read(m.manifest_path)).records
    out.push(...entries.map((e) => e.data_file.file_path))
  }
  return out
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name))
}

describe('TableWriter.append', () => {
  it('creates namespace and tables idempotently', async () => {
    const { writer, catalog } = setup()
    await writer.ensureTables()
    const first = await writer.load('pa_sessions')
    await writer.ensureTables()
    expect((await writer.load('pa_sessions')).metadataLocation).toBe(first.metadataLocation)
    expect(await catalog.listNamespaces()).toEqual([['analytics']])
    expect(first.metadata.location).toMatch(/\/analytics\/pa_sessions$/)
  })

  it('writes one file per partition and a snapshot whose files DuckDB reads back row for row', async () => {
    const { writer } = setup()
    await writer.ensureTables()
    const rows = eventRows(120, { seed: 3, sites: 2, days: 2 })
    const res = await writer.append('pa_events', rows as unknown as Row[], {
      summary: { 'floe.writer-id': 'w1' },
    })
    expect(res).toMatchObject({ table: 'pa_events', dataFiles: 4, records: 120, attempts: 1 })
    const { metadata } = await writer.load('pa_events')
    const snap = metadata.snapshots.at(-1)!
    expect(snap['snapshot-id']).toBe(res.snapshotId)
    expect(snap.summary).toMatchObject({
      'floe.writer-id': 'w1',
      'added-records': '120',
      'added-data-files': '4',
    })
    expect(snap.summary['floe.commit-id']).toMatch(/^[0-9a-f-]{36}$/)
    const files = await liveDataFiles(writer)
    expect(files).toHaveLength(4)
    for (const f of files)
      expect(f).toMatch(/\/data\/event_time_day=2026-11-2[45]\/site_id=[0-9a-f-]{36}\/\d{5}-0-/)
    const list = files.map((f) => `'${localPath(f)}'`).join(',')
    const back = await duckdbQuery(
      `SELECT event_id, epoch_us(event_time) AS t FROM read_parquet([${list}]) ORDER BY event_id`,
    )
    const want = [...rows]
      .sort((a, b) => (a.event_id < b.event_id ? -1 : 1))
      .map((r) => ({ event_id: r.event_id, t: BigInt(r.event_time) }))
    expect(back).toEqual(want)
  })

  it('on a conflict rebuilds the manifest list on the new parent, keeping the other writer’s data', async () => {
    const { writer, other, catalog, tableDir } = setup()
    await writer.ensureTables()
    let raced = false
    catalog.beforeCommit = async () => {
      if (raced) return undefined
      raced = true // another process commits between our load and our swap
      await other.append('pa_events', eventRows(10, { seed: 9 }) as unknown as Row[])
      return undefined
    }
    const res = await writer.append('pa_events', eventRows(20, { seed: 10 }) as unknown as Row[])
    expect(res.attempts).toBe(2)
    const { metadata } = await writer.load('pa_events')
    expect(metadata.snapshots).toHaveLength(2)
    const [theirs, ours] = metadata.snapshots
    expect(ours['parent-snapshot-id']).toBe(theirs['snapshot-id'])
    expect(ours['sequence-number']).toBe(2n)
    expect(ours.summary['total-records']).toBe('30')
    const manifests = await currentManifests(new LocalFileIO(), metadata)
    expect(manifests.map((m) => m.added_snapshot_id)).toEqual([ours['snapshot-id'], theirs['snapshot-id']])
    expect(manifests.map((m) => m.sequence_number)).toEqual([2n, 1n])
    // the stale attempt's manifest list was removed; the live one is attempt 2
    const lists = filesUnder(path.join(tableDir, 'metadata')).filter((f) =>
      path.basename(f).startsWith(`snap-${ours['snapshot-id']}-`),
    )
    expect(lists.map((f) => path.basename(f).split('-')[2])).toEqual(['2'])
  })

  it('gives up with CommitRetriesExhaustedError and removes the files it wrote', async () => {
    const { writer, other, catalog, tableDir } = setup(new LocalFileIO(), 3)
    await writer.ensureTables()
    await other.append('pa_events', eventRows(5, { seed: 1 }) as unknown as Row[])
    const before = await writer.load('pa_events')
    const filesBefore = filesUnder(tableDir).length
    let nested = false
    catalog.beforeCommit = async () => {
      // someone else always wins: a new snapshot of theirs moves main under the committer, so the
      // commit's requirement (main unchanged) fails
      if (nested) return undefined
      nested = true
      await other.append('pa_events', eventRows(1, { seed: 3 }) as unknown as Row[])
      nested = false
      return undefined
    }
    await expect(
      writer.append('pa_events', eventRows(5, { seed: 2 }) as unknown as Row[]),
    ).rejects.toBeInstanceOf(CommitRetriesExhaustedError)
    const after = await writer.load('pa_events')
    const theirs = after.metadata.snapshots.slice(before.metadata.snapshots.length)
    expect(theirs).toHaveLength(3)
    expect(theirs.every((s) => s.summary['added-records'] === '1')).toBe(true)
    // only the other writer's 3 appends added files: no data file, manifest or list of ours left behind
    const added = filesUnder(tableDir).length - filesBefore
    const perAppend = (after.metadata.snapshots.length - before.metadata.snapshots.length) / 3
    expect(perAppend).toBe(1)
    // each of their appends: data file + manifest + list + metadata file
    expect(added).toBe(3 * 4)
  })

  it('resolves an unknown outcome that did apply by finding its commit id (no second snapshot)', async () => {
    const { writer, catalog } = setup()
    await writer.ensureTables()
    let first = true
    catalog.beforeCommit = () => (first ? ((first = false), 'unknown-applied') : undefined)
    const res = await writer.append('pa_events', eventRows(7) as unknown as Row[])
    const { metadata } = await writer.load('pa_events')
    expect(metadata.snapshots).toHaveLength(1)
    expect(metadata.snapshots[0]['snapshot-id']).toBe(res.snapshotId)
    expect(res.attempts).toBe(1)
    expect(catalog.commits).toBe(1)
  })

  it('retries an unknown outcome that did not apply, landing exactly once', async () => {
    const { writer, catalog } = setup()
    await writer.ensureTables()
    let first = true
    catalog.beforeCommit = () => (first ? ((first = false), 'unknown-lost') : undefined)
    const res = await writer.append('pa_events', eventRows(7) as unknown as Row[])
    const { metadata } = await writer.load('pa_events')
    expect(metadata.snapshots.map((s) => s['snapshot-id'])).toEqual([res.snapshotId])
    expect(res.attempts).toBe(2)
  })

  it('rejects rows that do not match the schema before writing anything', async () => {
    const { writer, tableDir } = setup()
    await writer.ensureTables()
    const rows = eventRows(3) as unknown as Row[]
    rows[2] = { ...rows[2], event_type: 'pageview' }
    const filesBefore = filesUnder(tableDir)
    await expect(writer.append('pa_events', rows)).rejects.toBeInstanceOf(SchemaMismatchError)
    expect(filesUnder(tableDir)).toEqual(filesBefore)
    expect((await writer.load('pa_events')).metadata.snapshots).toHaveLength(0)
  })

  it('leaves no snapshot and no files when an upload fails', async () => {
    const local = new LocalFileIO()
    let parquetWrites = 0
    const flaky: FileIO = Object.assign(Object.create(local) as FileIO, {
      write: async (uri: string, bytes: Uint8Array) => {
        if (uri.endsWith('.parquet') && ++parquetWrites === 2) throw new Error('S3 503 SlowDown')
        return local.write(uri, bytes)
      },
    })
    const { writer, tableDir, catalog } = setup(flaky)
    await writer.ensureTables()
    const filesBefore = filesUnder(tableDir)
    await expect(writer.append('pa_events', eventRows(50, { sites: 3 }) as unknown as Row[])).rejects.toThrow(
      /SlowDown/,
    )
    expect(catalog.commits).toBe(0)
    expect((await writer.load('pa_events')).metadata.snapshots).toHaveLength(0)
    expect(filesUnder(tableDir)).toEqual(filesBefore)
  })

  it('serializes appends to one table from one process (no self-conflicts)', async () => {
    const { writer, catalog } = setup()
    await writer.ensureTables()
    const results = await Promise.all(
      [1, 2, 3, 4].map((s) => writer.append('pa_events', eventRows(5, { seed: s }) as unknown as Row[])),
    )
    expect(results.map((r) => r.attempts)).toEqual([1, 1, 1, 1])
    expect(catalog.conflicts).toBe(0)
    expect((await writer.load('pa_events')).metadata.snapshots).toHaveLength(4)
  })
})
