/**
 * The shutdown drain shared by the receive-side buffer (`IngestBuffer.close`) and the log writer
 * (`LogWriter.close`): cancel the timed flushes (none may race the drain), flush until nothing is
 * buffered or the deadline passes, then stop the flushers. A failed flush (storage or catalog
 * briefly down during a rolling restart) is retried with a growing pause, capped at 2 s and at the
 * time left, so the grace period is spent retrying rather than ended by one error.
 */
import type { Logger } from 'pino'
import { TABLE_NAMES, type TableName } from '../rows.ts'
import type { TableFlusher } from './flusher.ts'

export interface DrainOptions {
  /** Flushes and commits what is buffered (throws when a table's commit fails). */
  flush: () => Promise<unknown>
  /** Whether anything is still buffered after a flush. */
  buffered: () => boolean
  /** ms epoch. */
  deadline: number
  /** The owner's timed-flush timers, cleared first. */
  timers: Partial<Record<TableName, NodeJS.Timeout>>
  /** The owner's flushers, stopped when the drain ends (whether or not it emptied the buffers). */
  flushers: Record<TableName, Pick<TableFlusher, 'stop'>>
  logger?: Pick<Logger, 'warn'>
}

/** Resolves true when everything buffered was committed before the deadline. */
export async function drainUntil(opts: DrainOptions): Promise<boolean> {
  const { deadline } = opts
  for (const t of TABLE_NAMES) clearTimeout(opts.timers[t])
  let done = false
  let delay = 100
  while (!done && Date.now() < deadline) {
    try {
      await opts.flush()
      done = !opts.buffered()
    } catch (err) {
      opts.logger?.warn({ err }, 'flush during shutdown failed; retrying until the deadline')
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))))
      delay = Math.min(delay * 2, 2000)
    }
  }
  for (const t of TABLE_NAMES) opts.flushers[t].stop()
  return done
}
