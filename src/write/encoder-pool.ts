/**
 * Appends encoded in worker threads, so Parquet encoding and manifest writing (the CPU-heavy part
 * of a flush, encode-append.ts) run beside the receiving thread and a 2-core machine uses both
 * cores. The receiving thread keeps validation, uploads and the catalog commit (I/O, cheap on CPU).
 *
 * Why piscina (docs/decisions.md): a task queue in front of a few workers, a worker that dies is
 * replaced and its task rejected (the flush then fails and retries like any failed upload), idle
 * workers exit, and results move back as transferred buffers. That is what a hand-written pool
 * would have to get right too.
 *
 * Rows cross to the worker by structured clone (about a tenth of what encoding them costs on this
 * thread, bench/flush-commit.ts); the Parquet files come back moved, not copied.
 */
import { Piscina } from 'piscina'
import type { AppendEncoder, EncodeInput, EncodedAppend } from './encode-append.ts'

export interface EncoderPoolOptions {
  /** Worker threads (FLOE_ENCODE_WORKERS, at least 1). */
  threads: number
  /** An idle worker exits after this long (its memory goes back); the next flush starts one again. */
  idleTimeoutMs?: number
  /** V8 young-generation bound of each worker in MB (default 8). */
  youngGenerationMb?: number
}

/**
 * The worker runs the same TypeScript sources as this thread: without a loader of its own it
 * gets tsx (a dependency, what `npm start` runs with) unless this process already has it.
 */
function workerExecArgv(): string[] {
  const argv = process.execArgv
  return argv.some((a) => a.includes('tsx')) ? argv : [...argv, '--import', 'tsx']
}

export function createEncoderPool(opts: EncoderPoolOptions): AppendEncoder {
  const pool = new Piscina<EncodeInput, EncodedAppend>({
    filename: new URL('./encode-worker.ts', import.meta.url).href,
    minThreads: 0,
    maxThreads: Math.max(1, opts.threads),
    idleTimeout: opts.idleTimeoutMs ?? 60_000,
    execArgv: workerExecArgv(),
    // Encoding is the whole task: no Atomics spin between tasks, the worker just waits.
    atomics: 'disabled',
    // A worker's garbage is short-lived rows and Arrow scratch: with V8's default young generation
    // (tens of MB per isolate) a worker added ~75 MB of RSS after 20k-row flushes; 8 MB keeps it
    // near what encoding on the main thread costs (measured with 1000- and 20000-row appends).
    resourceLimits: { maxYoungGenerationSizeMb: opts.youngGenerationMb ?? 8 },
  })
  return {
    encode: (input) => pool.run(input),
    close: () => pool.destroy(),
  }
}
