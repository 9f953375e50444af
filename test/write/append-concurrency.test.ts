/**
 * Concurrency: 4 writer processes (test/support/append-worker.ts) each commit 25 appends to the
 * same table at the same time through the JDBC catalog in real PostgreSQL. Every lost
 * compare-and-swap must be retried on the new parent, never by resending a stale manifest list, so
 * afterwards the snapshot chain holds all 100 appends and every row of every writer is readable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { LocalFileIO, fileUri } from '../../src/storage/local.ts'
import { PgSql } from '../../src/storage/pg.ts'
import type { LoadedTable } from '../../src/table/catalog.ts'
import { createTestDatabase } from '../support/pg.ts'
import { sampleEvents } from '../support/rows.ts'
import { currentDataFiles, expectDuckDbRows, expectIcebirdRows } from '../support/append-e2e.ts'

const WRITERS = 4
const APPENDS = 25
const ROWS = 8

interface WorkerResult {
  writerId: number
  attempts: number[]
  snapshotIds: string[]
}

const dir = mkdtempSync(path.join(tmpdir(), 'floe-append-conc-'))
const warehouse = fileUri(dir)
let db: { url: string; drop: () => Promise<void> }
let results: WorkerResult[]
let table: LoadedTable

function startWorker(writerId: number) {
  const script = path.resolve('test/support/append-worker.ts')
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      script,
      db.url,
      warehouse,
      'floe_conc',
      String(writerId),
      String(APPENDS),
      String(ROWS),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  )
  const lines = createInterface({ input: child.stdout! })
  let onReady: () => void
  const ready = new Promise<void>((r) => (onReady = r))
  const done = new Promise<WorkerResult>((resolve, reject) => {
    let result: WorkerResult | undefined
    lines.on('line', (l) => {
      if (l === 'ready') onReady()
      else if (l.startsWith('{')) result = JSON.parse(l) as WorkerResult
    })
    child.on('exit', (code) =>
      code === 0 && result ? resolve(result) : reject(new Error(`writer ${writerId} exited with ${code}`)),
    )
  })
  return { ready, done, go: () => child.stdin!.end('go\n') }
}

beforeAll(async () => {
  db = await createTestDatabase()
  const workers = Array.from({ length: WRITERS }, (_, i) => startWorker(i + 1))
  await Promise.all(workers.map((w) => w.ready))
  for (const w of workers) w.go()
  results = await Promise.all(workers.map((w) => w.done))
  const sql = new PgSql(db.url)
  try {
    const loaded = await new JdbcCatalog({ sql, io: new LocalFileIO(), name: 'floe_conc' }).loadTable({
      namespace: ['analytics'],
      name: 'pa_events',
    })
    table = loaded!
  } finally {
    await sql.close()
  }
}, 90_000)

afterAll(async () => {
  await db?.drop()
  rmSync(dir, { recursive: true, force: true })
})

describe('4 writer processes × 25 appends to one table', () => {
  it('really contended: some commits needed more than one attempt', () => {
    const all = results.flatMap((r) => r.attempts)
    expect(all).toHaveLength(WRITERS * APPENDS)
    expect(all.some((a) => a > 1)).toBe(true)
  })

  it('the snapshot chain from the current snapshot back to the root holds all 100 appends', () => {
    const md = table.metadata
    const byId = new Map(md.snapshots.map((s) => [s['snapshot-id'], s]))
    const chain = []
    for (let id: bigint | undefined = md['current-snapshot-id']; id !== undefined;) {
      const s = byId.get(id)
      if (!s) throw new Error(`snapshot ${id} missing from metadata`)
      chain.push(s)
      id = s['parent-snapshot-id']
    }
    expect(chain).toHaveLength(WRITERS * APPENDS)
    expect(chain.every((s) => s.summary.operation === 'append')).toBe(true)
    // Sequence numbers strictly increase along the chain, one per commit.
    const seqs = chain.map((s) => s['sequence-number']).reverse()
    expect(seqs).toEqual(Array.from({ length: WRITERS * APPENDS }, (_, i) => BigInt(i + 1)))
    // Every writer's every append is in it, exactly once.
    const committed = new Set(chain.map((s) => s['snapshot-id'].toString()))
    expect(committed).toEqual(new Set(results.flatMap((r) => r.snapshotIds)))
    expect(chain.at(0)!.summary['total-records']).toBe(String(WRITERS * APPENDS * ROWS))
  })

  it('every row of every writer is readable (DuckDB over the live files, icebird full scan)', async () => {
    const expected = Array.from({ length: WRITERS }, (_, i) => sampleEvents(APPENDS * ROWS, i + 1, 0)).flat()
    const files = currentDataFiles(table)
    expect(files.reduce((n, f) => n + Number(f.record_count), 0)).toBe(expected.length)
    await expectDuckDbRows('pa_events', files, expected)
    await expectIcebirdRows('pa_events', table, expected)
  })
})
