import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { LocalFileIO, fileUri } from '../../src/storage/local.ts'
import { newTableMetadata, type TableMetadata } from '../../src/table/metadata.ts'
import { addAppendSnapshot, appendSummary, applySnapshot, newSnapshotId } from '../../src/write/snapshot.ts'
import {
  nextMetadataLocation,
  parseMetadataVersion,
  readMetadataFile,
  writeMetadataFile,
} from '../../src/table/metadata-file.ts'
import { parseJson, stringifyJson } from '../../src/table/json.ts'
import { loadTableDefinition } from '../../src/write/table-definition.ts'

const def = loadTableDefinition('pa_events')
const UUID = '0d3c8f7e-2b1a-4c5d-9e8f-7a6b5c4d3e2f'
const stats = { addedDataFiles: 2, addedRecords: 10n, addedFilesSize: 5000n, changedPartitionCount: 2 }

describe('new table metadata (v2)', () => {
  const md = newTableMetadata(def, 's3://b/wh/analytics/pa_events/', UUID, 1_764_000_000_000n)

  it('has every required v2 key with Java’s values for an empty table', () => {
    expect(Object.keys(md)).toEqual([
      'format-version',
      'table-uuid',
      'location',
      'last-sequence-number',
      'last-updated-ms',
      'last-column-id',
      'current-schema-id',
      'schemas',
      'default-spec-id',
      'partition-specs',
      'last-partition-id',
      'default-sort-order-id',
      'sort-orders',
      'properties',
      'current-snapshot-id',
      'refs',
      'snapshots',
      'statistics',
      'partition-statistics',
      'snapshot-log',
      'metadata-log',
    ])
    expect(md.location).toBe('s3://b/wh/analytics/pa_events')
    expect(md['last-column-id']).toBe(42)
    expect(md['last-partition-id']).toBe(1001)
    expect(md['current-snapshot-id']).toBe(-1n)
    expect(md['last-sequence-number']).toBe(0n)
    // The declared order (site_id, event_time) that compaction sorts by, next to unsorted 0.
    expect(md['default-sort-order-id']).toBe(1)
    expect(md['sort-orders']).toEqual([
      { 'order-id': 0, fields: [] },
      {
        'order-id': 1,
        fields: [
          { transform: 'identity', 'source-id': 1, direction: 'asc', 'null-order': 'nulls-first' },
          { transform: 'identity', 'source-id': 5, direction: 'asc', 'null-order': 'nulls-first' },
        ],
      },
    ])
    expect(md).not.toHaveProperty('schema')
    expect(md).not.toHaveProperty('partition-spec')
  })

  it('uses 999 as last-partition-id when unpartitioned', () => {
    const un = newTableMetadata({ ...def, 'partition-spec': { 'spec-id': 0, fields: [] } }, 'file:///t', UUID)
    expect(un['last-partition-id']).toBe(999)
  })
})

describe('append snapshots', () => {
  const base = newTableMetadata(def, 'file:///t', UUID, 1000n)

  it('draws snapshot ids as positive signed 64-bit integers', () => {
    for (let i = 0; i < 200; i++) {
      const id = newSnapshotId()
      expect(id > 0n && id < 2n ** 63n).toBe(true)
    }
  })

  it('adds the first snapshot: seq 1, no parent, refs.main, logs, totals from 0', () => {
    const md = addAppendSnapshot(base, {
      snapshotId: 11n,
      manifestListLocation: 'file:///t/metadata/snap-11.avro',
      stats,
      baseMetadataLocation: 'file:///t/metadata/00000-a.metadata.json',
      nowMs: 2000n,
      extraSummary: { 'floe.commit-id': 'c1' },
    })
    const s = md.snapshots[0]
    expect(md['last-sequence-number']).toBe(1n)
    expect(md['current-snapshot-id']).toBe(11n)
    expect(md.refs).toEqual({ main: { 'snapshot-id': 11n, type: 'branch' } })
    expect(s).not.toHaveProperty('parent-snapshot-id')
    expect([s['sequence-number'], s['timestamp-ms'], s['schema-id']]).toEqual([1n, 2000n, 0])
    expect(s.summary).toEqual({
      'floe.commit-id': 'c1',
      operation: 'append',
      'added-data-files': '2',
      'added-records': '10',
      'added-files-size': '5000',
      'changed-partition-count': '2',
      'total-records': '10',
      'total-files-size': '5000',
      'total-data-files': '2',
      'total-delete-files': '0',
      'total-position-deletes': '0',
      'total-equality-deletes': '0',
    })
    expect(md['snapshot-log']).toEqual([{ 'timestamp-ms': 2000n, 'snapshot-id': 11n }])
    expect(md['metadata-log']).toEqual([
      { 'timestamp-ms': 1000n, 'metadata-file': 'file:///t/metadata/00000-a.metadata.json' },
    ])
  })

  it("applies another writer's snapshot exactly as sent (the REST endpoint's path)", () => {
    const one = addAppendSnapshot(base, {
      snapshotId: 11n,
      manifestListLocation: 'l1',
      stats,
      baseMetadataLocation: 'm0',
      nowMs: 2000n,
    })
    const theirs = {
      'sequence-number': 2n,
      'snapshot-id': 77n,
      'parent-snapshot-id': 11n,
      'timestamp-ms': 1900n, // the client's clock: kept as sent
      summary: { operation: 'append', 'added-records': '3' },
      'manifest-list': 'l2',
      'schema-id': 0,
    }
    const md = applySnapshot(
      { ...one, properties: { 'write.metadata.previous-versions-max': '1' } },
      theirs,
      'm1',
      1500n,
    )
    expect(md.snapshots[1]).toBe(theirs)
    expect(md['current-snapshot-id']).toBe(77n)
    expect(md.refs.main).toEqual({ 'snapshot-id': 77n, type: 'branch' })
    expect(md['last-sequence-number']).toBe(2n)
    expect(md['last-updated-ms']).toBe(2001n) // never before the base's last update
    expect(md['snapshot-log']).toEqual([
      { 'timestamp-ms': 2000n, 'snapshot-id': 11n },
      { 'timestamp-ms': 1900n, 'snapshot-id': 77n },
    ])
    expect(md['metadata-log']).toEqual([{ 'timestamp-ms': 2000n, 'metadata-file': 'm1' }]) // trimmed to 1
  })

  it('chains the next snapshot on the current one and adds totals', () => {
    const one = addAppendSnapshot(base, {
      snapshotId: 11n,
      manifestListLocation: 'l1',
      stats,
      baseMetadataLocation: 'm0',
      nowMs: 2000n,
    })
    const two = addAppendSnapshot(one, {
      snapshotId: 2n ** 62n + 1n,
      manifestListLocation: 'l2',
      stats,
      baseMetadataLocation: 'm1',
      nowMs: 1500n,
    })
    const s = two.snapshots[1]
    expect(s['parent-snapshot-id']).toBe(11n)
    expect(s['sequence-number']).toBe(2n)
    // the clock went backwards: the snapshot still moves forward from the base
    expect(s['timestamp-ms']).toBe(2001n)
    expect(s.summary['total-records']).toBe('20')
    expect(s.summary['total-data-files']).toBe('4')
  })

  it('drops a total the parent does not have (as Java does) and never lets extras override counters', () => {
    const parent = {
      'snapshot-id': 1n,
      'sequence-number': 1n,
      'timestamp-ms': 1n,
      'manifest-list': 'x',
      summary: { operation: 'replace', 'total-records': 'oops' },
    }
    const summary = appendSummary(parent, stats, { operation: 'delete', 'floe.wal-seq': '9' })
    expect(summary.operation).toBe('append')
    expect(summary).not.toHaveProperty('total-records')
    expect(summary['total-delete-files']).toBeUndefined()
    expect(summary['floe.wal-seq']).toBe('9')
  })

  it('keeps keys written by other engines and trims metadata-log to previous-versions-max', () => {
    let md: TableMetadata = {
      ...base,
      properties: { 'write.metadata.previous-versions-max': '3' },
      'trino-extra': { n: 1 },
    }
    for (let i = 1; i <= 5; i++) {
      md = addAppendSnapshot(md, {
        snapshotId: BigInt(i),
        manifestListLocation: `l${i}`,
        stats,
        baseMetadataLocation: `m${i - 1}`,
        nowMs: BigInt(1000 + i),
      })
    }
    expect(md['metadata-log'].map((e) => e['metadata-file'])).toEqual(['m2', 'm3', 'm4'])
    expect(md['trino-extra']).toEqual({ n: 1 })
    expect(md.snapshots).toHaveLength(5)
  })
})

describe('metadata files', () => {
  it('are named NNNNN-<uuid>.metadata.json, numbered from the previous file', () => {
    const md = newTableMetadata(def, 'file:///w/t', UUID)
    const first = nextMetadataLocation(md)
    expect(first).toMatch(/^file:\/\/\/w\/t\/metadata\/00000-[0-9a-f-]{36}\.metadata\.json$/)
    // Trino's IcebergUtil.parseVersion pattern
    expect(first.split('/').pop()).toMatch(
      /^(\d+)-([-a-fA-F0-9]*)(\.[a-zA-Z0-9]+)?\.metadata\.json(\.[a-zA-Z0-9]+)?$/,
    )
    expect(nextMetadataLocation(md, 'file:///w/t/metadata/00041-ab.metadata.json')).toMatch(/\/00042-/)
    expect(parseMetadataVersion('s3://b/t/metadata/v7.metadata.json')).toBe(7)
    const custom = { ...md, properties: { 'write.metadata.path': 's3://other/meta/' } }
    expect(nextMetadataLocation(custom)).toMatch(/^s3:\/\/other\/meta\/00000-/)
  })

  it('round-trip through a file with ids above 2^53 written by another engine', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-md-'))
    const io = new LocalFileIO()
    const big = 9_223_372_036_854_775_807n
    const md = addAppendSnapshot(newTableMetadata(def, fileUri(dir), UUID), {
      snapshotId: big,
      manifestListLocation: 'l',
      stats,
      baseMetadataLocation: 'm0',
    })
    const loc = nextMetadataLocation(md, 'm0')
    await writeMetadataFile(io, md, loc)
    const text = new TextDecoder().decode(await io.read(loc))
    expect(text).toContain('"current-snapshot-id":9223372036854775807')
    const back = await readMetadataFile(io, loc)
    expect(back).toEqual(md)
    expect(stringifyJson(back)).toBe(text)
    await expect(writeMetadataFile(io, md, loc)).rejects.toThrow(/already exists/)
  })

  it('parses Java-written snapshot JSON (gzip too) into bigints', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-md-'))
    const io = new LocalFileIO()
    const md = newTableMetadata(def, fileUri(dir), UUID)
    const json = stringifyJson({ ...md, 'current-snapshot-id': 4598286611352242701n })
    const { gzipSync } = await import('node:zlib')
    const loc = fileUri(path.join(dir, '00003-x.gz.metadata.json'))
    await io.write(loc, gzipSync(json))
    const back = await readMetadataFile(io, loc)
    expect(back['current-snapshot-id']).toBe(4598286611352242701n)
    expect(parseJson(json)).toEqual(back)
  })
})
