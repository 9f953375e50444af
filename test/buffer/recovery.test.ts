import { describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { committedSeq, ensureWriterId, recordsToReplay } from '../../src/buffer/recovery.ts'
import type { Snapshot, TableMetadata } from '../../src/table/metadata.ts'

const snap = (id: bigint, parent: bigint | undefined, summary: Record<string, string>): Snapshot => ({
  'snapshot-id': id,
  ...(parent === undefined ? {} : { 'parent-snapshot-id': parent }),
  'sequence-number': id,
  'timestamp-ms': 0n,
  'manifest-list': `file:///m/${id}.avro`,
  summary: { operation: 'append', ...summary },
})

function metadata(snapshots: Snapshot[], current: bigint): TableMetadata {
  return {
    snapshots,
    'current-snapshot-id': current,
    refs: { main: { 'snapshot-id': current, type: 'branch' } },
  } as unknown as TableMetadata
}

const me = 'writer-a'
const other = 'writer-b'

describe('committed WAL position from the snapshot chain', () => {
  it("takes this writer's newest snapshot on the current branch, skipping other writers and compactions", () => {
    const m = metadata(
      [
        snap(1n, undefined, { 'floe.writer-id': me, 'floe.wal-seq': '10' }),
        snap(2n, 1n, { 'floe.writer-id': other, 'floe.wal-seq': '99' }),
        snap(3n, 2n, { 'floe.writer-id': me, 'floe.wal-seq': '25' }),
        snap(4n, 3n, { operation: 'replace' }), // e.g. Trino OPTIMIZE: no Floe keys
        snap(5n, 4n, { 'floe.writer-id': other, 'floe.wal-seq': '120' }),
      ],
      5n,
    )
    expect(committedSeq(m, me)).toBe(25)
    expect(committedSeq(m, other)).toBe(120)
    expect(committedSeq(m, 'writer-c')).toBe(0)
  })

  it('ignores snapshots that are not ancestors of the current one (a rolled-back or lost commit)', () => {
    const m = metadata(
      [
        snap(1n, undefined, { 'floe.writer-id': me, 'floe.wal-seq': '10' }),
        snap(2n, 1n, { 'floe.writer-id': me, 'floe.wal-seq': '20' }), // not on the branch any more
        snap(3n, 1n, { 'floe.writer-id': other, 'floe.wal-seq': '5' }),
      ],
      3n,
    )
    expect(committedSeq(m, me)).toBe(10)
  })

  it('an empty table has committed nothing', () => {
    expect(committedSeq(metadata([], -1n), me)).toBe(0)
  })

  it("replays per table only records above that table's position", () => {
    const records = [
      { seq: 4, tables: { pa_events: [{ a: 1 }], pa_sessions: [{ s: 1 }] }, bytes: 10 },
      { seq: 5, tables: { pa_events: [{ a: 2 }] }, bytes: 10 },
    ]
    const out = recordsToReplay(records, { pa_events: 4, pa_sessions: 3, pa_rejected: 0 })
    expect(out.map((e) => [e.seq, e.table])).toEqual([
      [4, 'pa_sessions'],
      [5, 'pa_events'],
    ])
  })

  it('the writer id is created once per WAL directory and then stable', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'floe-wid-'))
    try {
      const id = await ensureWriterId(dir)
      expect(id).toMatch(/^[0-9a-f-]{36}$/)
      expect(await ensureWriterId(dir)).toBe(id)
      expect(readFileSync(path.join(dir, 'writer-id'), 'utf8').trim()).toBe(id)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
