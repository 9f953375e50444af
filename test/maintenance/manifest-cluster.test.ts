/**
 * Manifests clustered by partition (src/write/manifest-cluster.ts) on a real table (Postgres JDBC
 * catalog, local warehouse, Floe's writer): merging appends, compaction and rewrite-manifests each
 * leave manifests whose day ranges do not overlap, so the reporting planner opens only the
 * manifests of the asked days; every row is read exactly once by DuckDB (files listed by
 * python3-avro) and icebird after each step.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { LocalFileIO, fileUri } from '../../src/storage/local.ts'
import { createTableWriter, type TableWriter } from '../../src/write/append.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'
import { currentManifests, type ManifestFile } from '../../src/write/manifest-list.ts'
import { compactTable } from '../../src/maintenance/compact.ts'
import { rewriteManifests } from '../../src/maintenance/rewrite-manifests.ts'
import { SnapshotPlanner } from '../../src/report/plan.ts'
import type { EventRow } from '../../src/rows.ts'
import { createTestDatabase } from '../support/pg.ts'
import { eventRow, SITES } from '../support/rows.ts'
import { currentDataFiles, expectDuckDbRows, expectIcebirdRows } from '../support/append-e2e.ts'

const DAY_US = 86_400_000_000
const FIRST_DAY = 20_400 // 2025-11-08
const DAYS = 12
const id = { namespace: ['analytics'], name: 'pa_events' }
const defs = loadTableDefinitions()
// min-count-to-merge 16: merges and compactions write at most 4 manifests (a quarter of it).
defs.pa_events.properties['commit.manifest.min-count-to-merge'] = '16'

let dir: string
let db: { url: string; drop: () => Promise<void> }
let sql: PgSql
let catalog: JdbcCatalog
let writer: TableWriter
const io = new LocalFileIO()
const rows: EventRow[] = []

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'floe-manifest-cluster-'))
  db = await createTestDatabase('floe_manifest_cluster')
  sql = new PgSql(db.url)
  catalog = new JdbcCatalog({ sql, io, name: 'floe' })
  writer = createTableWriter({
    catalog,
    io,
    namespace: id.namespace,
    warehouse: fileUri(dir),
    definitions: defs,
  })
  await writer.ensureTables()
})

afterAll(async () => {
  await sql?.close()
  await db?.drop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** Day range [lo, hi] of a manifest's first partition field (day, int bounds little-endian). */
function days(m: ManifestFile): [number, number] {
  const s = m.partitions![0]
  return [Buffer.from(s.lower_bound!).readInt32LE(0), Buffer.from(s.upper_bound!).readInt32LE(0)]
}

/** Day ranges of the live data manifests (`merged`: only those a merge wrote), sorted; asserts that no two overlap. */
async function liveRanges(merged = false): Promise<[number, number][]> {
  const loaded = await writer.load('pa_events')
  const list = await currentManifests(io, loaded.metadata)
  const live = list.filter((m) => (merged ? 0 : m.added_files_count) + m.existing_files_count > 0)
  const ranges = live.map(days).sort((a, b) => a[0] - b[0])
  for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThan(ranges[i - 1][1])
  return ranges
}

async function expectRows(): Promise<void> {
  const loaded = await writer.load('pa_events')
  await expectDuckDbRows('pa_events', currentDataFiles(loaded), rows)
  await expectIcebirdRows('pa_events', loaded, rows)
}

/** Manifests the reporting planner opens for one day of one site. */
async function manifestsReadFor(day: number): Promise<{ read: number; files: number }> {
  const plan = await new SnapshotPlanner(io).plan(await writer.load('pa_events'), {
    days: { column: 'event_time', from: day, to: day },
    values: { column: 'site_id', in: new Set([SITES[0]]) },
  })
  return { read: plan.manifests.read, files: plan.files.length }
}

describe('manifests clustered by day', { timeout: 120_000 }, () => {
  it('merging, compaction and rewrite-manifests leave manifests of disjoint day ranges', async () => {
    // Backfill order, as the bench loads: two appends per day, both sites in each.
    for (let d = 0; d < DAYS; d++)
      for (let a = 0; a < 2; a++) {
        const batch = SITES.flatMap((site, s) =>
          [0, 1, 2].map((i) =>
            eventRow({
              site_id: site,
              event_time: (FIRST_DAY + d) * DAY_US + (a * 3 + i) * 1_000_000 + s,
              event_type: 1,
              url_path: `/d${d}/a${a}/${i}`,
            }),
          ),
        )
        rows.push(...batch)
        await writer.append('pa_events', batch)
      }
    // The 16th append (day 7) merged its bin (15 manifests + its own) into 4 clustered ones of two
    // days each; the 8 appends after it are single-day manifests of their own.
    expect(await liveRanges(true)).toEqual([0, 2, 4, 6].map((d) => [FIRST_DAY + d, FIRST_DAY + d + 1]))
    await expectRows()

    const compacted = await compactTable({
      io,
      catalog,
      id,
      definition: defs.pa_events,
      quietMs: 0,
      batchRows: 1000,
      plan: { minInputFiles: 2 },
    })
    expect(compacted).toMatchObject({ filesRewritten: DAYS * 2 * 2, filesWritten: DAYS * 2 })
    const ranges = await liveRanges()
    // Four manifests of three days each: one day of one site opens one manifest and one file.
    expect(ranges).toEqual([0, 3, 6, 9].map((d) => [FIRST_DAY + d, FIRST_DAY + d + 2]))
    expect(await manifestsReadFor(FIRST_DAY + 4)).toEqual({ read: 1, files: 1 })
    await expectRows()

    const before = (await writer.load('pa_events')).metadata.snapshots.at(-1)!.summary
    const rewritten = await rewriteManifests({ io, catalog, id })
    expect(rewritten.manifestsCreated).toBe(4)
    const after = (await writer.load('pa_events')).metadata.snapshots.at(-1)!.summary
    expect(after).toMatchObject({
      operation: 'replace',
      'manifests-created': '4',
      'total-records': before['total-records'],
      'total-data-files': before['total-data-files'],
    })
    // Only live entries are carried: the compaction's DELETED entries are gone from the list.
    const list = await currentManifests(io, (await writer.load('pa_events')).metadata)
    expect(list).toHaveLength(4)
    expect(list.every((m) => m.added_files_count === 0 && m.deleted_files_count === 0)).toBe(true)
    expect(await liveRanges()).toEqual(ranges)
    expect(await manifestsReadFor(FIRST_DAY + 11)).toEqual({ read: 1, files: 1 })
    await expectRows()
  })
})
