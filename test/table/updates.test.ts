/**
 * The commit core's pure parts: requirements and `applyUpdates`, against Java's
 * TableMetadata.Builder rules (snapshot log after removals, refs to removed snapshots, the
 * metadata log trimmed to write.metadata.previous-versions-max), and the metadata files a
 * metastore commit may delete afterwards.
 */
import { describe, expect, it } from 'vitest'
import { CommitConflictError, InvalidCommitError, UnsupportedUpdateError } from '../../src/errors.ts'
import { droppedMetadataFiles } from '../../src/table/metastore.ts'
import type { Snapshot, TableMetadata } from '../../src/table/metadata.ts'
import { checkRequirements, parseRequirements } from '../../src/table/requirements.ts'
import { applyUpdates, parseUpdates } from '../../src/table/updates.ts'
import { addSnapshotUpdates } from '../../src/table/append-commit.ts'

const snap = (id: bigint, parent?: bigint): Snapshot => ({
  'snapshot-id': id,
  ...(parent === undefined ? {} : { 'parent-snapshot-id': parent }),
  'sequence-number': id,
  'timestamp-ms': 1000n + id,
  'manifest-list': `l${id}`,
  summary: { operation: 'append' },
})

function base(): TableMetadata {
  let md = {
    'format-version': 2,
    'table-uuid': 'u-1',
    location: 'file:///t',
    'last-sequence-number': 0n,
    'last-updated-ms': 1000n,
    'current-schema-id': 0,
    'current-snapshot-id': -1n,
    refs: {},
    snapshots: [],
    properties: {},
    'snapshot-log': [],
    'metadata-log': [],
    statistics: [],
    'partition-statistics': [],
  } as unknown as TableMetadata
  for (const id of [1n, 2n, 3n, 4n])
    md = applyUpdates(md, addSnapshotUpdates(snap(id, id === 1n ? undefined : id - 1n)), {
      previousMetadataLocation: `m${id - 1n}`,
    })
  return md
}

describe('applyUpdates', () => {
  it('add-snapshot + set-snapshot-ref main: current, refs, sequence, snapshot and metadata logs', () => {
    const md = base()
    expect(md['current-snapshot-id']).toBe(4n)
    expect(md.refs.main).toEqual({ 'snapshot-id': 4n, type: 'branch' })
    expect(md['last-sequence-number']).toBe(4n)
    expect(md['snapshot-log'].map((e) => e['snapshot-id'])).toEqual([1n, 2n, 3n, 4n])
    expect(md['metadata-log'].map((e) => e['metadata-file'])).toEqual(['m0', 'm1', 'm2', 'm3'])
  })

  it('rejects a taken id (400) and a stale sequence number (conflict)', () => {
    expect(() => applyUpdates(base(), addSnapshotUpdates(snap(4n, 3n)))).toThrow(InvalidCommitError)
    expect(() =>
      applyUpdates(base(), addSnapshotUpdates({ ...snap(9n, 4n), 'sequence-number': 4n })),
    ).toThrow(CommitConflictError)
  })

  it('remove-snapshots drops refs to them and the snapshot log up to the last removed one', () => {
    const md = applyUpdates(
      {
        ...base(),
        refs: { ...base().refs, old: { 'snapshot-id': 2n, type: 'tag' } },
        statistics: [{ 'snapshot-id': 1n }, { 'snapshot-id': 4n }],
      },
      [{ action: 'remove-snapshots', 'snapshot-ids': [1n, 2n] }],
    )
    expect(md.snapshots.map((s) => s['snapshot-id'])).toEqual([3n, 4n])
    expect(Object.keys(md.refs)).toEqual(['main'])
    expect(md['snapshot-log'].map((e) => e['snapshot-id'])).toEqual([3n, 4n])
    expect(md.statistics).toEqual([{ 'snapshot-id': 4n }])
    expect(md['current-snapshot-id']).toBe(4n)
  })

  it('set/remove properties; the metadata log is trimmed to the new previous-versions-max', () => {
    const md = applyUpdates(
      base(),
      [
        { action: 'set-properties', updates: { a: '1', 'write.metadata.previous-versions-max': '2' } },
        { action: 'remove-properties', removals: ['a'] },
      ],
      { previousMetadataLocation: 'm4' },
    )
    expect(md.properties).toEqual({ 'write.metadata.previous-versions-max': '2' })
    expect(md['metadata-log'].map((e) => e['metadata-file'])).toEqual(['m3', 'm4'])
    // Only with cleanup on are the dropped files deletable, and never one still in the log.
    expect(droppedMetadataFiles(base(), md)).toEqual([])
    const on = {
      ...md,
      properties: { ...md.properties, 'write.metadata.delete-after-commit.enabled': 'true' },
    }
    expect(droppedMetadataFiles(base(), on)).toEqual(['m0', 'm1', 'm2'])
  })

  it('is pure: the base is not changed', () => {
    const md = base()
    const copy = structuredClone(md)
    applyUpdates(md, [{ action: 'remove-snapshots', 'snapshot-ids': [1n] }])
    expect(md).toEqual(copy)
  })

  it('parses request JSON; known unsupported actions are UnsupportedUpdateError, unknown ones invalid', () => {
    expect(parseUpdates([{ action: 'remove-snapshots', 'snapshot-ids': [1, 2n] }])).toEqual([
      { action: 'remove-snapshots', 'snapshot-ids': [1n, 2n] },
    ])
    expect(() => parseUpdates([{ action: 'add-spec', spec: {} }])).toThrow(UnsupportedUpdateError)
    expect(() => parseUpdates([{ action: 'add-schema', schema: {} }])).toThrow(InvalidCommitError)
    expect(() => parseUpdates([{ action: 'make-it-fast' }])).toThrow(InvalidCommitError)
  })
})

describe('checkRequirements', () => {
  it('passes on the table it was built on and fails once a ref moved', () => {
    const md = base()
    const reqs = parseRequirements([
      { type: 'assert-table-uuid', uuid: 'U-1' },
      { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 4 },
      { type: 'assert-current-schema-id', 'current-schema-id': md['current-schema-id'] },
    ])
    expect(() => checkRequirements(md, reqs)).not.toThrow()
    const moved = applyUpdates(md, addSnapshotUpdates(snap(5n, 4n)))
    expect(() => checkRequirements(moved, reqs)).toThrow(/Requirement failed: branch main changed/)
    expect(() =>
      checkRequirements(md, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }]),
    ).toThrow(CommitConflictError)
    expect(() => parseRequirements([{ type: 'assert-nothing' }])).toThrow(InvalidCommitError)
  })

  it('add-schema + set-current-schema -1: the next schema id, last-column-id raised; an identical schema is reused', () => {
    const current = {
      type: 'struct' as const,
      'schema-id': 0,
      fields: [{ id: 1, name: 'site_id', required: true, type: 'string' as const }],
    }
    const md = { ...base(), schemas: [current], 'last-column-id': 1 }
    const wider = {
      ...current,
      fields: [...current.fields, { id: 99, name: 'campaign_id', required: false, type: 'string' as const }],
    }
    const next = applyUpdates(md, [
      { action: 'add-schema', schema: wider, 'last-column-id': 99 },
      { action: 'set-current-schema', 'schema-id': -1 },
    ])
    const newId = Math.max(...md.schemas.map((s) => s['schema-id'])) + 1
    expect(next['current-schema-id']).toBe(newId)
    expect(next['last-column-id']).toBe(99)
    expect(next.schemas.at(-1)!.fields.at(-1)!.name).toBe('campaign_id')
    const again = applyUpdates(next, [
      { action: 'add-schema', schema: { ...wider, 'schema-id': 7 } },
      { action: 'set-current-schema', 'schema-id': -1 },
    ])
    expect(again.schemas).toHaveLength(next.schemas.length)
    expect(() => applyUpdates(md, [{ action: 'set-current-schema', 'schema-id': -1 }])).toThrow(
      InvalidCommitError,
    )
    expect(() => applyUpdates(md, [{ action: 'set-current-schema', 'schema-id': 42 }])).toThrow(
      InvalidCommitError,
    )
  })
})
