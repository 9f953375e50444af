/**
 * Snapshot expiry (src/maintenance/expire.ts): the plan follows Java's RemoveSnapshots rules plus
 * Floe's count bound (pure cases); against a real Postgres JDBC catalog and a real S3-protocol
 * server (s3rver) it deletes exactly the files no kept snapshot reaches — checked against an
 * independent reachability walk by python3-avro — and every row stays readable exactly once by
 * icebird and DuckDB; and a WAL replay after expiry (ours, with the local checkpoint gone) lands
 * nothing twice, thanks to the WAL position carried as a table property.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IngestBuffer } from '../../src/buffer/buffer.ts'
import { ancestors, walSeqProperty } from '../../src/buffer/recovery.ts'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { expirePolicy, expireSnapshots, planExpiry } from '../../src/maintenance/expire.ts'
import type { EventRow } from '../../src/rows.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { S3FileIO } from '../../src/storage/s3.ts'
import type { Snapshot, TableMetadata } from '../../src/table/metadata.ts'
import { createTableWriter, type TableWriter } from '../../src/write/append.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'
import { createHarness, events, sessionRow, waitFor } from '../buffer/harness.ts'
import { currentDataFiles, expectDuckDbRows, expectIcebirdRows, type S3Paths } from '../support/append-e2e.ts'
import { createTestDatabase } from '../support/pg.ts'
import { sampleEvents } from '../support/rows.ts'
import { startTestS3, type TestS3, testS3FileIO } from '../support/s3.ts'

const DAY = 86_400_000n

function md(snaps: [id: number, parent: number | undefined, ts: bigint][], refs: TableMetadata['refs'] = {}) {
  const snapshots = snaps.map(([id, parent, ts]): Snapshot => ({
    'snapshot-id': BigInt(id),
    ...(parent === undefined ? {} : { 'parent-snapshot-id': BigInt(parent) }),
    'sequence-number': BigInt(id),
    'timestamp-ms': ts,
    'manifest-list': `l${id}`,
    summary: { operation: 'append' },
  }))
  const last = snapshots.at(-1)!
  return {
    snapshots,
    'current-snapshot-id': last['snapshot-id'],
    refs: { main: { 'snapshot-id': last['snapshot-id'], type: 'branch' }, ...refs },
    properties: {},
  } as unknown as TableMetadata
}

describe('planExpiry (Java RemoveSnapshots rules + floe.history.max-snapshots)', () => {
  const now = 100n * DAY
  const chain = (n: number, ageOf: (i: number) => bigint) =>
    Array.from({ length: n }, (_, i): [number, number | undefined, bigint] => [
      i + 1,
      i === 0 ? undefined : i,
      now - ageOf(i),
    ])

  it('defaults: keeps ancestors younger than 5 days, and at least one', () => {
    const m = md(chain(10, (i) => BigInt(10 - i) * DAY)) // ages 10..1 days
    const p = planExpiry(m, now, expirePolicy({}))
    expect(p.expire).toEqual([1n, 2n, 3n, 4n, 5n]) // ages 10..6 days go; 5 days (= the limit) stays
    const old = md(chain(3, () => 30n * DAY))
    expect(planExpiry(old, now, expirePolicy({})).expire).toEqual([1n, 2n]) // min-snapshots-to-keep 1
  })

  it('min-snapshots-to-keep keeps old ancestors; the count bound drops young ones', () => {
    const young = md(chain(10, () => 1000n))
    expect(planExpiry(young, now, expirePolicy({})).expire).toEqual([])
    const bounded = planExpiry(young, now, expirePolicy({ 'floe.history.max-snapshots': '3' }))
    expect(bounded.expire).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n])
    const withMin = planExpiry(
      young,
      now,
      expirePolicy({ 'floe.history.max-snapshots': '3', 'history.expire.min-snapshots-to-keep': '5' }),
    )
    expect(withMin.expire).toEqual([1n, 2n, 3n, 4n, 5n])
  })

  it('tags keep their snapshot; a tag older than its max-ref-age goes with its snapshot', () => {
    const m = md(
      chain(4, () => 30n * DAY),
      {
        keep: { 'snapshot-id': 2n, type: 'tag' },
        stale: { 'snapshot-id': 1n, type: 'tag', 'max-ref-age-ms': 10n * DAY },
      },
    )
    const p = planExpiry(m, now, expirePolicy({}))
    expect(p.removeRefs).toEqual(['stale'])
    expect(p.expire).toEqual([1n, 3n])
  })
})

// --- real Postgres + s3rver ---------------------------------------------------------------------

let s3: TestS3
let paths: S3Paths
let io: S3FileIO
let db: { url: string; drop: () => Promise<void> }
let sql: PgSql
let catalog: JdbcCatalog
let writer: TableWriter
const ID = { namespace: ['analytics'], name: 'pa_events' }
const rows: EventRow[] = []

/** Every object under the table in s3rver's folder, as s3:// URIs. */
function objectsUnderTable(): Set<string> {
  const root = path.join(s3.dir, s3.bucket)
  const out = new Set<string>()
  for (const d of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!d.isFile() || !d.name.endsWith('._S3rver_object')) continue
    const key = path.relative(root, path.join(d.parentPath, d.name)).replace(/\._S3rver_object$/, '')
    if (key.includes('/pa_events/')) out.add(`s3://${s3.bucket}/${key}`)
  }
  return out
}

const PY_REACHABLE = `
import json, os, re, sys
from avro.datafile import DataFileReader
from avro.io import DatumReader
s3dir = sys.argv[1]
def local(uri):
    m = re.match(r'^s3a?://([^/]+)/(.*)$', uri)
    return os.path.join(s3dir, m.group(1), m.group(2) + '._S3rver_object')
out = set()
for lst in sys.argv[2:]:
    out.add(lst)
    with DataFileReader(open(local(lst), 'rb'), DatumReader()) as r:
        for m in r:
            out.add(m['manifest_path'])
            with DataFileReader(open(local(m['manifest_path']), 'rb'), DatumReader()) as man:
                for e in man: out.add(e['data_file']['file_path'])
print(json.dumps(sorted(out)))
`

/** Manifest lists, manifests and data files reachable from `metadata`'s snapshots (python3-avro). */
function reachable(metadata: TableMetadata): Set<string> {
  const lists = metadata.snapshots.map((s) => s['manifest-list'])
  const out = execFileSync('/usr/bin/python3', ['-c', PY_REACHABLE, s3.dir, ...lists], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  return new Set(JSON.parse(out) as string[])
}

beforeAll(async () => {
  s3 = await startTestS3('floe-expire')
  paths = { dir: s3.dir, endpoint: s3.endpoint }
  io = testS3FileIO(s3)
  db = await createTestDatabase('floe_expire')
  sql = new PgSql(db.url)
  catalog = new JdbcCatalog({ sql, io, name: 'floe_expire' })
  const definitions = loadTableDefinitions()
  // Small numbers so that merges and expiry both happen within 24 commits.
  Object.assign(definitions.pa_events.properties, {
    'commit.manifest.min-count-to-merge': '4',
    'floe.history.max-snapshots': '5',
    'write.metadata.previous-versions-max': '6',
  })
  writer = createTableWriter({
    catalog,
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

describe('expireSnapshots on a merged table (Postgres catalog, s3rver)', () => {
  it('deletes exactly the files no kept snapshot reaches; rows stay exactly once', async () => {
    for (let i = 0; i < 24; i++) {
      const batch = sampleEvents(5, 0, i * 5)
      rows.push(...batch)
      await writer.append('pa_events', batch)
    }
    const before = await writer.load('pa_events')
    expect(before.metadata.snapshots).toHaveLength(24)
    const reachableBefore = reachable(before.metadata)
    const objectsBefore = objectsUnderTable()
    for (const f of reachableBefore) expect(objectsBefore.has(f)).toBe(true)

    const report = await expireSnapshots({ catalog, io, id: ID })
    expect(report).toMatchObject({ committed: true, snapshotsExpired: 19, failures: [] })
    const after = await writer.load('pa_events')
    expect(after.metadata.snapshots).toHaveLength(5)
    expect([...ancestors(after.metadata)]).toHaveLength(5)

    const keep = reachable(after.metadata)
    const objectsAfter = objectsUnderTable()
    // (metadata JSON files are the log's business, checked below)
    const deleted = [...objectsBefore].filter((f) => !objectsAfter.has(f) && !f.endsWith('.metadata.json'))
    // Nothing a kept snapshot needs was deleted ...
    for (const f of keep) expect(objectsAfter.has(f), f).toBe(true)
    // ... and everything deleted was reachable only from expired snapshots ...
    for (const f of deleted) {
      expect(keep.has(f), f).toBe(false)
      expect(reachableBefore.has(f), f).toBe(true)
    }
    // ... and every such file was deleted.
    const onlyExpired = [...reachableBefore].filter((f) => !keep.has(f))
    expect(new Set(deleted)).toEqual(new Set(onlyExpired))
    const fd = report.filesDeleted
    expect(fd.manifestLists + fd.manifests + fd.dataFiles).toBe(deleted.length)
    expect(fd.manifestLists).toBe(19)
    expect(fd.dataFiles).toBe(0) // append-only: every data file is still live

    // Metadata files are bounded: the log holds 6, cleanup deleted the ones it dropped.
    const metadataJson = [...objectsAfter].filter((f) => f.endsWith('.metadata.json'))
    expect(after.metadata['metadata-log']).toHaveLength(6)
    expect(metadataJson.length).toBe(7)

    // Rows exactly once, read by independent readers.
    await expectIcebirdRows('pa_events', after, rows, paths)
    await expectDuckDbRows('pa_events', currentDataFiles(after, paths), rows, paths)
    expect(after.metadata.snapshots.at(-1)!.summary['total-records']).toBe(String(rows.length))
  }, 120_000)

  it('a second run with nothing to expire commits nothing', async () => {
    const before = await writer.load('pa_events')
    const report = await expireSnapshots({ catalog, io, id: ID })
    expect(report).toMatchObject({ committed: false, snapshotsExpired: 0, attempts: 0 })
    expect((await writer.load('pa_events')).metadataLocation).toBe(before.metadataLocation)
  })
})

describe('recovery after expiry', () => {
  it('Floe expired the marker snapshots and the local checkpoint is lost: a replay lands nothing twice', async () => {
    const h = await createHarness({ ICEBERG_FLUSH_INTERVAL_SECONDS: '3600', ICEBERG_FLUSH_BATCH_SIZE: '2' })
    const buffers: IngestBuffer[] = []
    const make = async () => {
      const b = new IngestBuffer({
        config: h.config,
        writer: h.writer,
        backoff: { initialMs: 50, maxMs: 200 },
      })
      buffers.push(b)
      await b.start()
      return b
    }
    try {
      const b1 = await make()
      // pa_events commits at its batch size; the session row of the same WAL record waits, so the
      // record stays in the WAL.
      await b1.accept({ pa_events: events(['x0', 'x1']).pa_events, pa_sessions: [sessionRow()] })
      const id = { namespace: h.config.iceberg.namespace.split('.'), name: 'pa_events' }
      await waitFor(async () => (await h.writer.load('pa_events')).metadata.snapshots.length === 1)
      // Another replica commits twice; then Floe's expiry keeps only the newest snapshot.
      for (const m of ['o1', 'o2']) await h.writer.append('pa_events', events([m]).pa_events)
      const report = await expireSnapshots({ catalog: h.catalog, io: h.io, id, policy: { maxSnapshots: 1 } })
      expect(report.snapshotsExpired).toBe(2)
      const now = (await h.writer.load('pa_events')).metadata
      expect(now.snapshots).toHaveLength(1)
      expect(now.snapshots[0].summary['floe.writer-id']).toBeUndefined() // our marker is gone
      expect(Number(now.properties[walSeqProperty(b1.writerId)])).toBeGreaterThan(0) // the property is not
      // "Crash" without a flush, and lose the local checkpoint too.
      await b1.close(Date.now())
      rmSync(path.join(h.config.wal.dir, 'committed'), { force: true })
      expect(existsSync(path.join(h.config.wal.dir, 'committed'))).toBe(false)
      const b2 = await make()
      expect(b2.replayedRows).toBe(1) // the session row only
      await b2.flush()
      const last = [...ancestors((await h.writer.load('pa_events')).metadata)][0]
      expect(last.summary['total-records']).toBe('4') // x0, x1, o1, o2: nothing twice
    } finally {
      for (const b of buffers) await b.close(Date.now() + 2000)
      await h.close()
    }
  }, 60_000)
})
