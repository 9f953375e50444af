/**
 * A full sort of a file group larger than memory (compaction): an external merge sort.
 *
 * 1. The input rows are cut into runs of `runRows` rows; each run is sorted in memory and, unless
 *    the whole input fits in one run, spilled to a local file as chunks of `chunkRows` rows
 *    (V8's structured serialisation, length-prefixed, so a row comes back exactly: bigint,
 *    Map, null and strings as they were).
 * 2. A k-way merge over the runs (a binary heap on each run's current row) yields the rows in
 *    order. Each run holds one chunk at a time, and `chunkRows` = `runRows` / runs, so the merge
 *    holds about `runRows` rows whatever the number of runs.
 *
 * Run files are opened for each chunk read (no descriptor per run stays open: a 10 GB day is
 * thousands of runs) and the spill folder is removed when the sort ends, fails or is abandoned.
 */
import { mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { deserialize, serialize } from 'node:v8'
import type { Row } from '../rows.ts'

export type Compare = (a: Row, b: Row) => number

export interface ExternalSortOptions {
  /** Rows sorted in memory at a time (the memory bound). */
  runRows: number
  /** How many rows the input holds (from the manifests): sets the chunk size of the runs. */
  expectedRows: number
  /** A folder of its own for the run files; created, and removed when done. */
  spillDir: string
}

/** A day: spill folders older than this were left by a crash (a sort writes its runs early). */
export const STALE_SPILL_MS = 24 * 60 * 60 * 1000

/**
 * Removes the spill folders under `root` last modified more than `olderThanMs` ago: what a
 * process killed during a sort left behind. Returns how many were removed.
 */
export async function removeStaleSpills(root: string, olderThanMs = STALE_SPILL_MS, nowMs = Date.now()) {
  let removed = 0
  let names: string[]
  try {
    names = await readdir(root)
  } catch {
    return 0 // no spill folder yet
  }
  for (const name of names) {
    const dir = path.join(root, name)
    const s = await stat(dir).catch(() => undefined)
    if (s && nowMs - s.mtimeMs > olderThanMs) {
      await rm(dir, { recursive: true, force: true })
      removed++
    }
  }
  return removed
}

/** How many rows each chunk of `expectedRows / runRows` runs holds: the merge's memory bound. */
export function chunkRowsFor(o: Pick<ExternalSortOptions, 'runRows' | 'expectedRows'>): number {
  const runs = Math.max(1, Math.ceil(o.expectedRows / o.runRows))
  return Math.max(1, Math.floor(o.runRows / runs))
}

/** A sorted run on disk: chunk offsets and lengths, read back one chunk at a time. */
interface Run {
  file: string
  chunks: { at: number; length: number }[]
}

async function writeRun(file: string, rows: Row[], chunkRows: number): Promise<Run> {
  const run: Run = { file, chunks: [] }
  const h = await open(file, 'wx')
  try {
    let at = 0
    for (let i = 0; i < rows.length; i += chunkRows) {
      const bytes = serialize(rows.slice(i, i + chunkRows))
      await h.write(bytes, 0, bytes.byteLength, at)
      run.chunks.push({ at, length: bytes.byteLength })
      at += bytes.byteLength
    }
  } finally {
    await h.close()
  }
  return run
}

async function readChunk(run: Run, index: number): Promise<Row[]> {
  const { at, length } = run.chunks[index]
  let h: FileHandle | undefined
  try {
    h = await open(run.file, 'r')
    const buf = Buffer.alloc(length)
    const { bytesRead } = await h.read(buf, 0, length, at)
    if (bytesRead !== length) throw new Error(`spill file ${run.file}: short read`)
    return deserialize(buf) as Row[]
  } finally {
    await h?.close()
  }
}

/** One run's read position: its current chunk and the row in it. */
interface Cursor {
  run: Run
  chunk: number
  rows: Row[]
  at: number
}

/** Min-heap of cursors by their current row. */
class CursorHeap {
  readonly items: Cursor[] = []
  constructor(private readonly compare: Compare) {}
  #less(i: number, j: number): boolean {
    const a = this.items[i]
    const b = this.items[j]
    return this.compare(a.rows[a.at], b.rows[b.at]) < 0
  }
  #swap(i: number, j: number): void {
    const t = this.items[i]
    this.items[i] = this.items[j]
    this.items[j] = t
  }
  push(c: Cursor): void {
    this.items.push(c)
    let i = this.items.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.#less(i, p)) break
      this.#swap(i, p)
      i = p
    }
  }
  /** Restore the heap after the top's current row changed (or remove the top when `gone`). */
  fixTop(gone: boolean): void {
    if (gone) {
      const last = this.items.pop()!
      if (this.items.length === 0) return
      this.items[0] = last
    }
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < this.items.length && this.#less(l, m)) m = l
      if (r < this.items.length && this.#less(r, m)) m = r
      if (m === i) return
      this.#swap(i, m)
      i = m
    }
  }
}

/** `source`'s rows in `compare` order, in batches of at most `chunkRowsFor(o)` rows. */
export async function* externalSort(
  source: AsyncIterable<Row[]>,
  compare: Compare,
  o: ExternalSortOptions,
): AsyncGenerator<Row[]> {
  const chunkRows = chunkRowsFor(o)
  const runs: Run[] = []
  let buffer: Row[] = []
  let spilled = false
  try {
    const spill = async () => {
      if (!spilled) await mkdir(o.spillDir, { recursive: true })
      spilled = true
      buffer.sort(compare)
      runs.push(await writeRun(path.join(o.spillDir, `run-${runs.length}`), buffer, chunkRows))
      buffer = []
    }
    for await (const rows of source) {
      for (const r of rows) {
        buffer.push(r)
        if (buffer.length >= o.runRows) await spill()
      }
    }
    if (runs.length === 0) {
      // Everything fit in one run: no file at all.
      buffer.sort(compare)
      for (let i = 0; i < buffer.length; i += chunkRows) yield buffer.slice(i, i + chunkRows)
      return
    }
    if (buffer.length > 0) await spill()

    const heap = new CursorHeap(compare)
    for (const run of runs) {
      if (run.chunks.length === 0) continue
      heap.push({ run, chunk: 0, rows: await readChunk(run, 0), at: 0 })
    }
    let out: Row[] = []
    while (heap.items.length > 0) {
      const top = heap.items[0]
      out.push(top.rows[top.at++])
      let gone = false
      if (top.at === top.rows.length) {
        top.chunk++
        if (top.chunk < top.run.chunks.length) {
          top.rows = await readChunk(top.run, top.chunk)
          top.at = 0
        } else gone = true
      }
      heap.fixTop(gone)
      if (out.length >= chunkRows) {
        yield out
        out = []
      }
    }
    if (out.length > 0) yield out
  } finally {
    if (spilled) await rm(o.spillDir, { recursive: true, force: true })
  }
}
