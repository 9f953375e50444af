/**
 * Local copies of data files for DuckDB to read. Iceberg data files are immutable (a path is
 * never rewritten), so a copy is valid forever and needs no revalidation: only its size is bounded
 * (FLOE_REPORT_CACHE_MAX_BYTES), least recently used first out.
 *
 * - `file://` warehouses are read in place (no copy).
 * - Other schemes (S3) are fetched once through the FileIO into FLOE_REPORT_CACHE_DIR. Concurrent
 *   queries needing the same file share one download. A file in use by a running query is pinned
 *   and never evicted under it; the cache may then exceed its bound until the query ends.
 * - Copies left in the folder by an earlier run are deleted at start (only the cache's own
 *   `*.parquet` / `*.tmp` names): they are cheap to refetch, and a crash may have left partial
 *   ones (downloads go to a temp name and are renamed when complete anyway).
 */
import { createHash, randomUUID } from 'node:crypto'
import { mkdirSync, promises as fs, readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FileIO } from '../storage/file-io.ts'

interface Entry {
  local: string
  bytes: number
  pins: number
}

export class DataFileCache {
  private readonly entries = new Map<string, Entry>()
  private readonly inflight = new Map<string, Promise<Entry>>()
  private totalBytes = 0
  hits = 0
  misses = 0

  constructor(
    private readonly io: FileIO,
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {
    mkdirSync(dir, { recursive: true })
    for (const name of readdirSync(dir))
      if (/^[0-9a-f]{32}\.parquet(\..+\.tmp)?$/.test(name)) rmSync(path.join(dir, name), { force: true })
  }

  get sizeBytes(): number {
    return this.totalBytes
  }

  /**
   * Local paths of `uris`, pinned until `release` is called with the same list. Local warehouse
   * files are returned as they are.
   */
  async acquire(uris: readonly string[]): Promise<{ paths: string[]; release: () => void }> {
    const pinned: Entry[] = []
    const paths: string[] = []
    try {
      for (const uri of uris) {
        if (uri.startsWith('file:')) {
          paths.push(fileURLToPath(uri))
          continue
        }
        const e = await this.fetch(uri)
        e.pins++
        pinned.push(e)
        paths.push(e.local)
      }
    } catch (err) {
      for (const e of pinned) e.pins--
      throw err
    }
    return {
      paths,
      release: () => {
        for (const e of pinned) e.pins--
        this.evict()
      },
    }
  }

  private async fetch(uri: string): Promise<Entry> {
    const have = this.entries.get(uri)
    if (have) {
      // Map order is recency order: move to the end.
      this.entries.delete(uri)
      this.entries.set(uri, have)
      this.hits++
      return have
    }
    let p = this.inflight.get(uri)
    if (!p) {
      this.misses++
      p = this.download(uri).finally(() => this.inflight.delete(uri))
      this.inflight.set(uri, p)
    }
    return p
  }

  private async download(uri: string): Promise<Entry> {
    const bytes = await this.io.read(uri)
    const name = createHash('sha256').update(uri).digest('hex').slice(0, 32) + '.parquet'
    const local = path.join(this.dir, name)
    const tmp = `${local}.${randomUUID()}.tmp`
    await fs.writeFile(tmp, bytes)
    await fs.rename(tmp, local)
    const e: Entry = { local, bytes: bytes.byteLength, pins: 0 }
    this.entries.set(uri, e)
    this.totalBytes += e.bytes
    // Evicted on release only: the caller has not pinned it yet.
    return e
  }

  /** Drops least recently used unpinned copies until the cache is within its bound. */
  private evict(): void {
    if (this.totalBytes <= this.maxBytes) return
    for (const [uri, e] of this.entries) {
      if (this.totalBytes <= this.maxBytes) break
      if (e.pins > 0) continue
      this.entries.delete(uri)
      this.totalBytes -= e.bytes
      rmSync(e.local, { force: true })
    }
  }
}
