/**
 * The external merge sort of compaction: runs spilled to a real folder and merged k ways give
 * every row once, in order, in chunks that never exceed the merge's bound; the spill folder is
 * gone afterwards, also when the reader stops early or the input fails.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { chunkRowsFor, externalSort, removeStaleSpills } from '../../src/maintenance/external-sort.ts'
import type { Row } from '../../src/rows.ts'

const root = mkdtempSync(path.join(tmpdir(), 'floe-external-sort-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const byKey = (a: Row, b: Row) => (a.k as number) - (b.k as number) || (a.id as number) - (b.id as number)

/** `n` rows with shuffled keys (a deterministic LCG), in source batches of `batch`. */
async function* shuffled(n: number, batch: number, failAt = Infinity): AsyncGenerator<Row[]> {
  let x = 12345
  for (let i = 0; i < n; i += batch) {
    if (i >= failAt) throw new Error('input file unreadable')
    const rows: Row[] = []
    for (let j = i; j < Math.min(n, i + batch); j++) {
      x = (x * 1103515245 + 12345) % 2 ** 31
      rows.push({ id: j, k: x % 1000, big: BigInt(j) * 10n ** 12n, m: new Map([['a', String(j)]]), s: null })
    }
    yield rows
  }
}

describe('externalSort', () => {
  it('merges spilled runs into one order with every row once; chunks stay within the bound', async () => {
    const spillDir = path.join(root, 'merge')
    const o = { runRows: 100, expectedRows: 1000, spillDir }
    const out: Row[] = []
    let largest = 0
    let sawSpill = false
    for await (const chunk of externalSort(shuffled(1000, 37), byKey, o)) {
      sawSpill ||= existsSync(spillDir)
      largest = Math.max(largest, chunk.length)
      out.push(...chunk)
    }
    expect(sawSpill).toBe(true)
    expect(existsSync(spillDir)).toBe(false)
    expect(largest).toBeLessThanOrEqual(chunkRowsFor(o))
    expect(chunkRowsFor(o)).toBe(10) // ten runs of 100: ten rows per run in memory
    expect(out.map((r) => r.id).sort((a, b) => (a as number) - (b as number))).toEqual(
      Array.from({ length: 1000 }, (_, i) => i),
    )
    for (let i = 1; i < out.length; i++) expect(byKey(out[i - 1], out[i])).toBeLessThan(0)
    // Values come back as they were written (bigint, Map, null).
    const r = out.find((x) => x.id === 999)!
    expect(r.big).toBe(999n * 10n ** 12n)
    expect(r.m).toEqual(new Map([['a', '999']]))
    expect(r.s).toBeNull()
  })

  it('sorts in memory without a spill folder when everything fits in one run', async () => {
    const spillDir = path.join(root, 'one-run')
    const out: Row[] = []
    for await (const chunk of externalSort(shuffled(80, 30), byKey, {
      runRows: 100,
      expectedRows: 80,
      spillDir,
    }))
      out.push(...chunk)
    expect(existsSync(spillDir)).toBe(false)
    expect(out).toHaveLength(80)
    for (let i = 1; i < out.length; i++) expect(byKey(out[i - 1], out[i])).toBeLessThan(0)
  })

  it('removes the spill folder when the reader stops early or the input fails', async () => {
    const stopped = path.join(root, 'stopped')
    for await (const chunk of externalSort(shuffled(500, 50), byKey, {
      runRows: 100,
      expectedRows: 500,
      spillDir: stopped,
    })) {
      expect(chunk.length).toBeGreaterThan(0)
      expect(existsSync(stopped)).toBe(true)
      break
    }
    expect(existsSync(stopped)).toBe(false)

    const failed = path.join(root, 'failed')
    const sorting = async () => {
      for await (const chunk of externalSort(shuffled(500, 50, 300), byKey, {
        runRows: 100,
        expectedRows: 500,
        spillDir: failed,
      }))
        expect(chunk).toBeDefined()
    }
    await expect(sorting()).rejects.toThrow(/unreadable/)
    expect(existsSync(failed)).toBe(false)
  })

  it('removes spill folders a crash left (older than a day) and keeps recent ones', async () => {
    const spills = path.join(root, 'spills')
    mkdirSync(path.join(spills, 'crashed'), { recursive: true })
    mkdirSync(path.join(spills, 'running'), { recursive: true })
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000)
    utimesSync(path.join(spills, 'crashed'), twoDaysAgo, twoDaysAgo)
    expect(await removeStaleSpills(spills)).toBe(1)
    expect(existsSync(path.join(spills, 'crashed'))).toBe(false)
    expect(existsSync(path.join(spills, 'running'))).toBe(true)
    expect(await removeStaleSpills(path.join(root, 'never-made'))).toBe(0)
  })
})
