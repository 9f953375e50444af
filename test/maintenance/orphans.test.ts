/**
 * Orphan removal against the real JDBC catalog in PostgreSQL, on the S3-protocol server (s3rver)
 * and on a local folder: a file staged by a "crashed" commit and older than the window is deleted,
 * a younger one and every referenced file (all snapshots, after a compaction too) are kept, and
 * the rows read back by DuckDB and icebird are the same before and after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, utimesSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { S3FileIO } from '../../src/storage/s3.ts'
import { LocalFileIO, fileUri, localPath } from '../../src/storage/local.ts'
import type { FileIO } from '../../src/storage/file-io.ts'
import { createTableWriter, type TableWriter } from '../../src/write/append.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'
import { removeOrphans } from '../../src/maintenance/orphans.ts'
import { compactTable } from '../../src/maintenance/compact.ts'
import type { EventRow } from '../../src/rows.ts'
import { createTestDatabase } from '../support/pg.ts'
import { startTestS3, type TestS3, testS3FileIO } from '../support/s3.ts'
import { sampleEvents } from '../support/rows.ts'
import { currentDataFiles, expectDuckDbRows, expectIcebirdRows, type S3Paths } from '../support/append-e2e.ts'

const defs = loadTableDefinitions()
const DAY = 86_400_000
let db: { url: string; drop: () => Promise<void> }
let sql: PgSql

beforeAll(async () => {
  db = await createTestDatabase('floe_orphans')
  sql = new PgSql(db.url)
})
afterAll(async () => {
  await sql?.close()
  await db?.drop()
})

async function setup(io: FileIO, warehouse: string, catalogName: string) {
  const catalog = new JdbcCatalog({ sql, io, name: catalogName })
  const writer: TableWriter = createTableWriter({ catalog, io, namespace: ['analytics'], warehouse })
  await writer.ensureTables()
  let events: EventRow[] = []
  for (let b = 0; b < 6; b++) {
    const rows = sampleEvents(20, 0, events.length)
    await writer.append('pa_events', rows)
    events = [...events, ...rows]
  }
  const load = () => writer.load('pa_events')
  return { catalog, writer, events, load }
}

describe('orphan removal', { timeout: 150_000 }, () => {
  describe('on S3 (s3rver)', () => {
    let s3: TestS3
    let io: S3FileIO
    let paths: S3Paths
    beforeAll(async () => {
      s3 = await startTestS3('floe-orphans')
      paths = { dir: s3.dir, endpoint: s3.endpoint }
      io = testS3FileIO(s3)
    })
    afterAll(async () => {
      await io?.close()
      await s3?.stop()
      if (s3) rmSync(s3.dir, { recursive: true, force: true })
    })

    it('deletes a staged-but-uncommitted file older than the window and nothing else', async () => {
      const { writer, events, load, catalog } = await setup(io, `s3://${s3.bucket}/wh`, 'orph_s3')
      // Compact first: the replaced files stay referenced by the older snapshots.
      const compacted = await compactTable({
        io,
        catalog,
        id: { namespace: ['analytics'], name: 'pa_events' },
        definition: defs.pa_events,
        quietMs: 0,
        batchRows: 1000,
      })
      expect(compacted.filesRewritten).toBeGreaterThan(0)
      const loaded = await load()
      const loc = loaded.metadata.location
      // What a crash between staging and commit leaves: a data file and a manifest.
      const oldData = `${loc}/data/event_time_day=2026-11-25/site_id=x/00000-0-crashed-00001.parquet`
      const oldManifest = `${loc}/metadata/crashed-m0.avro`
      await io.write(oldData, new Uint8Array([1, 2, 3]))
      await io.write(oldManifest, new Uint8Array([4, 5, 6]))
      await new Promise((r) => setTimeout(r, 2500))
      const young = `${loc}/data/event_time_day=2026-11-25/site_id=x/00000-0-inflight-00001.parquet`
      await io.write(young, new Uint8Array([7]))
      const before = await io.list(`${loc}/`)

      const result = await removeOrphans({ io, load, olderThanMs: 1500 })
      expect(result.deleted.sort()).toEqual([oldManifest, oldData].sort())
      expect(result.tooYoung).toBe(1)
      const after = await io.list(`${loc}/`)
      expect(after.sort()).toEqual(before.filter((u) => u !== oldData && u !== oldManifest).sort())

      const now = await load()
      await expectDuckDbRows('pa_events', currentDataFiles(now, paths), events, paths)
      await expectIcebirdRows('pa_events', now, events, paths)
      // Even with a window of zero, nothing any snapshot references goes: only the young orphan.
      const all = await removeOrphans({ io, load, olderThanMs: 0, nowMs: Date.now() + 1000 })
      expect(all.deleted).toEqual([young])
      await expectIcebirdRows('pa_events', await load(), events, paths)
      void writer
    })
  })

  it('on a local folder, with the default 3-day window and real file ages', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-orphans-'))
    const io = new LocalFileIO()
    try {
      const { events, load } = await setup(io, fileUri(dir), 'orph_local')
      const loaded = await load()
      const loc = loaded.metadata.location
      const stale = `${loc}/metadata/snap-1-1-crashed.avro`
      const fresh = `${loc}/data/00000-0-fresh-00001.parquet`
      await io.write(stale, new Uint8Array([1]))
      await io.write(fresh, new Uint8Array([2]))
      // Every file of the table is four days old, except `fresh`.
      const fourDaysAgo = (Date.now() - 4 * DAY) / 1000
      for (const u of await io.list(`${loc}/`))
        if (u !== fresh) utimesSync(localPath(u), fourDaysAgo, fourDaysAgo)

      const result = await removeOrphans({ io, load, olderThanMs: 3 * DAY })
      expect(result.deleted).toEqual([stale])
      expect(result.tooYoung).toBe(1)
      const now = await load()
      await expectDuckDbRows('pa_events', currentDataFiles(now), events)
      await expectIcebirdRows('pa_events', now, events)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
