/**
 * SIGKILL in the middle of compaction and of snapshot expiry: a child process compacts pa_events
 * (real Postgres JDBC catalog, real files) and is killed at random points, and once right between
 * staging its files and committing; then a child expiring snapshots (and deleting the files only
 * they reached) is killed at random points. After every kill: icebird and DuckDB read every event exactly once, and every
 * file any snapshot references exists. At the end a compaction runs to completion and orphan
 * removal deletes what the killed runs left, and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { LocalFileIO, fileUri } from '../../src/storage/local.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { createTableWriter, type TableWriter } from '../../src/write/append.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'
import { compactTable } from '../../src/maintenance/compact.ts'
import { reachableFiles, removeOrphans } from '../../src/maintenance/orphans.ts'
import type { EventRow } from '../../src/rows.ts'
import { createTestDatabase } from '../support/pg.ts'
import { sampleEvents } from '../support/rows.ts'
import { currentDataFiles, expectDuckDbRows, expectIcebirdRows } from '../support/append-e2e.ts'

const ROUNDS = Number(process.env.FLOE_CRASH_ROUNDS ?? 4)
const io = new LocalFileIO()
let dir: string
let db: { url: string; drop: () => Promise<void> }
let sql: PgSql
let writer: TableWriter
let events: EventRow[] = []

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'floe-maint-crash-'))
  db = await createTestDatabase('floe_maint_crash')
  sql = new PgSql(db.url)
  const catalog = new JdbcCatalog({ sql, io, name: 'crash' })
  writer = createTableWriter({ catalog, io, namespace: ['analytics'], warehouse: fileUri(dir) })
  await writer.ensureTables()
})
afterAll(async () => {
  await sql?.close()
  await db?.drop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function appendBatches(n: number, size: number): Promise<void> {
  for (let b = 0; b < n; b++) {
    const rows = sampleEvents(size, 0, events.length)
    await writer.append('pa_events', rows)
    events = [...events, ...rows]
  }
}

/** Runs the worker; kills it `killAfterMs` after it is ready, or at `staged` when that is null. */
function runAndKill(killAfterMs: number | null, mode: 'compact' | 'expire' = 'compact'): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/support/maintenance-worker.ts',
        db.url,
        fileUri(dir),
        'crash',
        '40', // groups of 240 rows: the sort spills runs, so kills land in the spill and the merge too
        mode,
        path.join(dir, 'spill'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (killAfterMs !== null && out.includes('ready\n') && !out.includes('armed')) {
        out += 'armed'
        setTimeout(() => child.kill('SIGKILL'), killAfterMs)
      }
      if (killAfterMs === null && out.includes('staged\n')) child.kill('SIGKILL')
    })
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolve(out)
      else reject(new Error(`worker exited ${code}: ${err}`))
    })
  })
}

async function expectIntact(): Promise<void> {
  const loaded = await writer.load('pa_events')
  for (const uri of await reachableFiles(io, loaded.metadata, loaded.metadataLocation))
    expect(await io.exists(uri), `referenced file ${uri} exists`).toBe(true)
  await expectDuckDbRows('pa_events', currentDataFiles(loaded), events)
  await expectIcebirdRows('pa_events', loaded, events)
}

describe('SIGKILL during compaction', () => {
  it(
    `loses nothing and leaves nothing referenced deleted (${ROUNDS} kills)`,
    { timeout: 240_000 },
    async () => {
      const outcomes: string[] = []
      for (let round = 0; round < ROUNDS; round++) {
        await appendBatches(6, 40)
        // Round 0 dies exactly between staging and commit; the others at a random point.
        const killAfter = round === 0 ? null : 150 + Math.floor(Math.random() * 2500)
        const out = await runAndKill(killAfter)
        outcomes.push(
          out.includes('done') ? 'finished' : out.includes('staged') ? 'killed-staged' : 'killed-early',
        )
        await expectIntact()
      }
      expect(outcomes[0]).toBe('killed-staged')
      // Finish the job in-process: every partition ends up compacted, rows unchanged.
      await compactTable({
        io,
        catalog: new JdbcCatalog({ sql, io, name: 'crash' }),
        id: { namespace: ['analytics'], name: 'pa_events' },
        definition: loadTableDefinitions().pa_events,
        quietMs: 0,
        batchRows: 1000,
      })
      await expectIntact()
      // What the killed runs staged is unreferenced: orphan removal (window passed) deletes exactly that.
      const loaded = await writer.load('pa_events')
      const orphans = await removeOrphans({
        io,
        load: () => writer.load('pa_events'),
        olderThanMs: 0,
        nowMs: Date.now() + 1000,
      })
      if (outcomes.some((o) => o !== 'finished')) expect(orphans.deleted.length).toBeGreaterThan(0)
      for (const u of orphans.deleted) expect(u).toMatch(/\.(parquet|avro)$/)
      const reachable = await reachableFiles(io, loaded.metadata, loaded.metadataLocation)
      for (const u of orphans.deleted) expect(reachable.has(u)).toBe(false)
      await expectIntact()
      console.log(
        `compaction crash rounds: ${outcomes.join(', ')}; orphans removed: ${orphans.deleted.length}`,
      )
    },
  )

  it(`SIGKILL during snapshot expiry loses nothing (${ROUNDS} kills)`, { timeout: 240_000 }, async () => {
    const outcomes: string[] = []
    for (let round = 0; round < ROUNDS; round++) {
      await appendBatches(8, 20)
      const out = await runAndKill(100 + Math.floor(Math.random() * 2500), 'expire')
      outcomes.push(out.includes('done') ? 'finished' : 'killed')
      await expectIntact()
    }
    // A full run afterwards still finds a consistent table and leaves it intact.
    const out = await runAndKill(600_000, 'expire')
    expect(out).toContain('done')
    await expectIntact()
    console.log(`expiry crash rounds: ${outcomes.join(', ')}`)
  })
})
