/**
 * Merging appends (src/write/manifest-merge.ts), as Java's MergeAppend: the bin-packing plan
 * (pure cases); then against a real Postgres JDBC catalog and the S3-protocol server: merged
 * manifests, read by python3-avro, carry earlier files as EXISTING with their original snapshot id
 * and sequence numbers, the list stays short, and every row is read exactly once by icebird and
 * DuckDB; and 500 commits with the defaults keep the list and the metadata files bounded.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import type { EventRow } from '../../src/rows.ts'
import { LocalFileIO, fileUri } from '../../src/storage/local.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { S3FileIO } from '../../src/storage/s3.ts'
import { createTableWriter, type TableWriter } from '../../src/write/append.ts'
import { currentManifests, type ManifestFile } from '../../src/write/manifest-list.ts'
import { JAVA_MERGE_DEFAULTS, packEnd, planMerge } from '../../src/write/manifest-merge.ts'
import { clusterByPartition, clusterLimit } from '../../src/write/manifest-cluster.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'
import { currentDataFiles, expectDuckDbRows, expectIcebirdRows, type S3Paths } from '../support/append-e2e.ts'
import { createTestDatabase } from '../support/pg.ts'
import { sampleEvents } from '../support/rows.ts'
import { startTestS3, type TestS3, testS3FileIO } from '../support/s3.ts'
import { readWithPythonAvro } from './support/python-avro.ts'

const m = (name: string, length: number, spec = 0): ManifestFile =>
  ({
    manifest_path: name,
    manifest_length: BigInt(length),
    partition_spec_id: spec,
    content: 0,
  }) as ManifestFile

describe('merge plan (Java ManifestMergeManager)', () => {
  it('packs from the end with lookback 1, so the newest bin is the under-filled one', () => {
    const names = (bins: ManifestFile[][]) => bins.map((b) => b.map((x) => x.manifest_path).join(''))
    const items = ['a', 'b', 'c', 'd', 'e'].map((n) => m(n, 4))
    expect(names(packEnd(items, (x) => Number(x.manifest_length), 8))).toEqual(['a', 'bc', 'de'])
    expect(names(packEnd(items, (x) => Number(x.manifest_length), 100))).toEqual(['abcde'])
  })

  it('merges the bin with the new manifest only at min-count; other bins whenever they hold two', () => {
    const policy = { enabled: true, minCountToMerge: 3, targetSizeBytes: 10 }
    const [n, a, b, c, d] = ['n', 'a', 'b', 'c', 'd'].map((x) => m(x, 4))
    // bins from the end: [c d] [a b] [n]: [n] alone stays; [a b] and [c d] merge
    expect(planMerge([n, a, b, c, d], n, policy).map((p) => [p.bin.length, p.merge])).toEqual([
      [1, false],
      [2, true],
      [2, true],
    ])
    const small = { ...policy, targetSizeBytes: 100 }
    expect(planMerge([n, a], n, small).map((p) => p.merge)).toEqual([false]) // 2 < 3
    expect(planMerge([n, a, b], n, small).map((p) => p.merge)).toEqual([true])
    expect(planMerge([n, a, b], n, { ...small, enabled: false }).every((p) => !p.merge)).toBe(true)
  })

  it('groups by spec, highest spec id first', () => {
    const plan = planMerge([m('n', 1, 0), m('x', 1, 1), m('y', 1, 0)], m('n', 1, 0), JAVA_MERGE_DEFAULTS)
    expect(plan.map((p) => p.bin.map((x) => x.partition_spec_id))).toEqual([[1], [0, 0]])
  })
})

describe('clustering merged and compacted manifests by partition', () => {
  // (day, site) tuples as Floe's tables have them, out of order
  const tuples = [
    [3, 'b'],
    [1, 'b'],
    [2, 'a'],
    [1, 'a'],
    [3, 'a'],
    [2, 'b'],
    [null, 'a'],
  ] as [number | null, string][]
  it('sorts by the tuple (nulls first) and cuts only between days, into at most the limit', () => {
    const runs = clusterByPartition(tuples, (t) => t, 3)
    expect(runs).toEqual([
      [
        [null, 'a'],
        [1, 'a'],
        [1, 'b'],
      ],
      [
        [2, 'a'],
        [2, 'b'],
      ],
      [
        [3, 'a'],
        [3, 'b'],
      ],
    ])
    for (const limit of [1, 2, 3, 4, 10]) {
      const r = clusterByPartition(tuples, (t) => t, limit)
      expect(r.length).toBeLessThanOrEqual(limit)
      expect(r.flat()).toHaveLength(tuples.length)
      // no day is split over two runs
      const daysOf = r.map((run) => new Set(run.map((t) => t[0])))
      for (let i = 1; i < daysOf.length; i++)
        for (const d of daysOf[i]) for (let j = 0; j < i; j++) expect(daysOf[j].has(d)).toBe(false)
    }
    expect(clusterByPartition(tuples, (t) => t, 1)).toHaveLength(1)
  })
  it('keeps a quarter of min-count-to-merge as the limit (Java default 100: 25), at least one', () => {
    expect(clusterLimit(JAVA_MERGE_DEFAULTS.minCountToMerge)).toBe(25)
    expect(clusterLimit(4)).toBe(1)
    expect(clusterLimit(1)).toBe(1)
  })
})

describe('merging appends into S3 through the Postgres catalog', () => {
  let s3: TestS3
  let io: S3FileIO
  let db: { url: string; drop: () => Promise<void> }
  let sql: PgSql
  let writer: TableWriter
  const rows: EventRow[] = []

  beforeAll(async () => {
    s3 = await startTestS3('floe-merge')
    io = testS3FileIO(s3)
    db = await createTestDatabase('floe_merge')
    sql = new PgSql(db.url)
    const definitions = loadTableDefinitions()
    definitions.pa_events.properties['commit.manifest.min-count-to-merge'] = '4'
    writer = createTableWriter({
      catalog: new JdbcCatalog({ sql, io, name: 'floe_merge' }),
      io,
      namespace: ['analytics'],
      warehouse: `s3://${s3.bucket}/wh`,
      definitions,
    })
    await writer.ensureTables()
  }, 60_000)

  afterAll(async () => {
    await io?.close()
    await s3?.stop()
    await sql?.close()
    await db?.drop()
    if (s3) rmSync(s3.dir, { recursive: true, force: true })
  })

  it('keeps every row exactly once, entries EXISTING with their original snapshot and sequence numbers', async () => {
    const listLengths: number[] = []
    for (let i = 0; i < 10; i++) {
      const batch = sampleEvents(6, 0, i * 6)
      rows.push(...batch)
      await writer.append('pa_events', batch)
      listLengths.push((await currentManifests(io, (await writer.load('pa_events')).metadata)).length)
    }
    // 1,2,3 then the 4th manifest merges the bin into one: the list never reaches min-count.
    expect(listLengths).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1])
    const t = await writer.load('pa_events')
    const md = t.metadata
    const current = md.snapshots.at(-1)!
    expect(current.summary['total-records']).toBe(String(rows.length))
    expect(current.summary['added-records']).toBe('6')

    // python3-avro reads the merged manifest: 10 appends' files, 9 EXISTING + this snapshot's ADDED.
    const [merged] = await currentManifests(io, md)
    expect(merged.added_snapshot_id).toBe(current['snapshot-id'])
    const local = (uri: string) => path.join(s3.dir, uri.replace(/^s3:\/\//, '')) + '._S3rver_object'
    const entries = readWithPythonAvro(local(merged.manifest_path)).records as {
      status: number
      snapshot_id: bigint
      sequence_number: bigint | null
      file_sequence_number: bigint | null
      data_file: { file_path: string }
    }[]
    for (const e of entries) {
      // python3-avro's JSON gives small longs as numbers
      e.snapshot_id = BigInt(e.snapshot_id)
      if (e.sequence_number !== null) e.sequence_number = BigInt(e.sequence_number)
      if (e.file_sequence_number !== null) e.file_sequence_number = BigInt(e.file_sequence_number)
    }
    const seqOf = new Map(md.snapshots.map((s) => [s['snapshot-id'], s['sequence-number']]))
    const added = entries.filter((e) => e.status === 1)
    const existing = entries.filter((e) => e.status === 0)
    expect(added.every((e) => e.snapshot_id === current['snapshot-id'] && e.sequence_number === null)).toBe(
      true,
    )
    expect(existing.length).toBe(entries.length - added.length)
    expect(new Set(existing.map((e) => e.snapshot_id)).size).toBe(9)
    for (const e of existing) {
      expect(e.snapshot_id).not.toBe(current['snapshot-id'])
      expect(e.sequence_number).toBe(seqOf.get(e.snapshot_id))
      expect(e.file_sequence_number).toBe(seqOf.get(e.snapshot_id))
    }
    expect(merged.existing_files_count).toBe(existing.length)
    expect(merged.added_files_count).toBe(added.length)
    expect(merged.min_sequence_number).toBe(1n)
    expect(merged.sequence_number).toBe(current['sequence-number'])

    const paths: S3Paths = { dir: s3.dir, endpoint: s3.endpoint }
    await expectIcebirdRows('pa_events', t, rows, paths)
    await expectDuckDbRows('pa_events', currentDataFiles(t, paths), rows, paths)
  }, 120_000)
})

describe("500 commits with Floe's table properties (Postgres catalog, local warehouse)", () => {
  it('the manifest list stays under min-count-to-merge and the metadata files under the log size', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-merge500-'))
    const db = await createTestDatabase('floe_merge500')
    const sql = new PgSql(db.url)
    const io = new LocalFileIO()
    try {
      const writer = createTableWriter({
        catalog: new JdbcCatalog({ sql, io, name: 'floe' }),
        io,
        namespace: ['analytics'],
        warehouse: fileUri(dir),
      })
      await writer.ensureTables()
      let maxList = 0
      for (let i = 0; i < 500; i++) {
        await writer.append('pa_events', sampleEvents(1, 0, i))
        if (i % 25 === 24)
          maxList = Math.max(
            maxList,
            (await currentManifests(io, (await writer.load('pa_events')).metadata)).length,
          )
      }
      const t = await writer.load('pa_events')
      const list = await currentManifests(io, t.metadata)
      maxList = Math.max(maxList, list.length)
      expect(maxList).toBeLessThan(100)
      expect(list.reduce((n, x) => n + x.added_files_count + x.existing_files_count, 0)).toBe(500)
      expect(t.metadata.snapshots.at(-1)!.summary['total-records']).toBe('500')
      const metaDir = path.join(dir, 'analytics', 'pa_events', 'metadata')
      const jsonFiles = readdirSync(metaDir).filter((f) => f.endsWith('.metadata.json'))
      // Floe's tables keep write.metadata.previous-versions-max (schemas/*.json) files in the log
      const max = Number(loadTableDefinitions().pa_events.properties['write.metadata.previous-versions-max'])
      expect(t.metadata['metadata-log']).toHaveLength(max)
      expect(jsonFiles.length).toBe(max + 1)
    } finally {
      await sql.close()
      await db.drop()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 300_000)
})
