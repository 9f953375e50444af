/**
 * The committed-position checkpoint, `<FLOE_WAL_DIR>/committed`: per table, the WAL seq through
 * which rows are committed. Recovery takes the larger of it and the snapshot chain's markers (see
 * recovery.ts for why the chain alone is not enough).
 *
 * CheckpointSaver writes it in the background after commits: a write in flight coalesces later
 * advances into one more write, and a failed write (disk full, say) is retried with backoff until it
 * lands. Until then the snapshot chain still holds the markers, so only a long failure together with
 * snapshot expiry by another engine could let committed records replay.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Logger } from 'pino'
import { TABLE_NAMES, type TableName } from '../rows.ts'
import { fsyncDir } from '../storage/local.ts'
import type { Positions } from './recovery.ts'

const CHECKPOINT_FILE = 'committed'

/** The local checkpoint of committed positions; zeros where there is none (first start). */
export async function readCheckpoint(walDir: string): Promise<Positions> {
  const out = Object.fromEntries(TABLE_NAMES.map((t) => [t, 0])) as Positions
  try {
    const saved = JSON.parse(await fs.readFile(path.join(walDir, CHECKPOINT_FILE), 'utf8')) as Record<
      string,
      unknown
    >
    for (const t of TABLE_NAMES) if (Number.isSafeInteger(saved[t])) out[t] = saved[t] as number
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err
  }
  return out
}

/** Replaces the checkpoint atomically (temp file, fsync, rename, fsync of the folder unless `sync` is off). */
export async function writeCheckpoint(walDir: string, positions: Positions, sync: boolean): Promise<void> {
  const file = path.join(walDir, CHECKPOINT_FILE)
  const tmp = `${file}.tmp`
  const h = await fs.open(tmp, 'w')
  try {
    await h.writeFile(JSON.stringify(positions) + '\n')
    if (sync) await h.sync()
  } finally {
    await h.close()
  }
  await fs.rename(tmp, file)
  if (sync) await fsyncDir(walDir)
}

export class CheckpointSaver {
  readonly #positions: Positions
  #write: Promise<void> | undefined
  #dirty = false
  #retry: NodeJS.Timeout | undefined
  #failures = 0

  constructor(
    private readonly o: { dir: string; sync: boolean; logger?: Pick<Logger, 'warn'> },
    initial: Positions,
  ) {
    this.#positions = { ...initial }
  }

  /** `table` is committed through `seq`: saved in the background if that is news. */
  advance(table: TableName, seq: number): void {
    if (seq <= this.#positions[table]) return
    this.#positions[table] = seq
    this.#save()
  }

  /** One last attempt at a pending write, then waits for writes in flight. */
  async close(): Promise<void> {
    if (this.#retry) {
      clearTimeout(this.#retry)
      this.#retry = undefined
      this.#save()
    }
    while (this.#write) await this.#write
    clearTimeout(this.#retry)
  }

  #save(): void {
    if (this.#write || this.#retry) {
      this.#dirty = true
      return
    }
    this.#write = writeCheckpoint(this.o.dir, { ...this.#positions }, this.o.sync)
      .then(
        () => {
          this.#failures = 0
        },
        (err: unknown) => {
          this.#failures++
          this.#dirty = true
          const delay = Math.min(10_000, 100 * 2 ** Math.min(this.#failures, 7))
          this.o.logger?.warn({ err, retryInMs: delay }, 'writing the committed-position checkpoint failed')
          this.#retry = setTimeout(() => {
            this.#retry = undefined
            this.#save()
          }, delay)
          this.#retry.unref()
        },
      )
      .finally(() => {
        this.#write = undefined
        if (this.#dirty && !this.#retry) {
          this.#dirty = false
          this.#save()
        }
      })
  }
}
