/**
 * The one commit retry loop (Java's `SnapshotProducer.commit` / `Tasks.exponentialBackoff`), used
 * by the append path and by maintenance:
 *
 *   attempt 1..1+num-retries: build(requirements, updates) on the current table → catalog.commit
 *   - CommitConflictError: delete this attempt's own files, wait, reload, rebuild, try again;
 *   - CommitStateUnknownError: keep every file (the commit may be live), reload and ask `landed`
 *     whether it is in the table; if not, rebuild and try again;
 *   - anything else: stop.
 *
 * The policy comes from the table's properties with Java's defaults (`commit.retry.num-retries` 4,
 * `commit.retry.min-wait-ms` 100, `commit.retry.max-wait-ms` 60000, `commit.retry.total-timeout-ms`
 * 1800000); a caller's explicit overrides win. The wait doubles per attempt from min to max (with
 * wider jitter than Java's, see retryDelay), and no attempt starts after the total timeout.
 */
import {
  CommitConflictError,
  CommitRetriesExhaustedError,
  CommitStateUnknownError,
  NoSuchTableError,
} from '../errors.ts'
import type { FileIO } from '../storage/file-io.ts'
import type { Catalog, LoadedTable, TableIdentifier } from './catalog.ts'
import type { TableMetadata } from './metadata.ts'
import type { TableRequirement } from './requirements.ts'
import type { TableUpdate } from './updates.ts'

export interface CommitRetryPolicy {
  /** Attempts after the first. */
  numRetries: number
  minWaitMs: number
  maxWaitMs: number
  totalTimeoutMs: number
}

/** Iceberg Java's `TableProperties` defaults. */
export const JAVA_COMMIT_RETRY: CommitRetryPolicy = {
  numRetries: 4,
  minWaitMs: 100,
  maxWaitMs: 60_000,
  totalTimeoutMs: 1_800_000,
}

const PROPERTY: Record<keyof CommitRetryPolicy, string> = {
  numRetries: 'commit.retry.num-retries',
  minWaitMs: 'commit.retry.min-wait-ms',
  maxWaitMs: 'commit.retry.max-wait-ms',
  totalTimeoutMs: 'commit.retry.total-timeout-ms',
}

/** The table's `commit.retry.*` properties over Java's defaults, then `overrides`. */
export function retryPolicy(
  properties: Record<string, string> | undefined,
  overrides: Partial<CommitRetryPolicy> = {},
): CommitRetryPolicy {
  const out = { ...JAVA_COMMIT_RETRY }
  for (const key of Object.keys(PROPERTY) as (keyof CommitRetryPolicy)[]) {
    const v = Number(properties?.[PROPERTY[key]])
    if (properties?.[PROPERTY[key]] !== undefined && Number.isFinite(v) && v >= 0) out[key] = v
    if (overrides[key] !== undefined) out[key] = overrides[key]
  }
  return out
}

/**
 * Wait before attempt `attempt + 1`: d = min·2^(attempt-1) capped at max, then "equal jitter"
 * (d/2 fixed + up to d/2 random). Java adds only up to 10 % jitter; with several Floe replicas
 * that flush on the same triggers, that kept the losers retrying in lockstep (4 processes x 25
 * appends exhausted 12 attempts in test/write/append-concurrency.test.ts), so the spread is wider.
 */
export function retryDelay(attempt: number, policy: CommitRetryPolicy): number {
  const d = Math.min(policy.maxWaitMs, policy.minWaitMs * 2 ** (attempt - 1))
  return d / 2 + Math.random() * (d / 2)
}

/** One attempt's commit, built on the table as loaded for that attempt. */
export interface PlannedCommit {
  requirements: TableRequirement[]
  updates: TableUpdate[]
  /** Files written for this attempt only (e.g. its manifest list): deleted when it definitely failed. */
  attemptFiles?: string[]
}

export interface CommitLoopOptions {
  catalog: Catalog
  id: TableIdentifier
  io: FileIO
  /** The table as already loaded for the first attempt (else loaded here). */
  base?: LoadedTable
  /** Builds the attempt on `base`. May throw to stop (nothing is retried then). */
  build(base: LoadedTable, attempt: number): Promise<PlannedCommit>
  /** After an unknown outcome: does `metadata` already hold this commit? */
  landed(metadata: TableMetadata): boolean
  /** Called once when the loop fails with no attempt possibly live (e.g. delete staged files). */
  onDefiniteFailure?(): Promise<void>
  /** Overrides of the table's `commit.retry.*` (tests; the writer's explicit options). */
  retry?: Partial<CommitRetryPolicy>
  sleep?(ms: number): Promise<void>
  /** Clock for the total timeout (default Date.now). */
  now?(): number
}

export interface CommitLoopResult {
  committed: LoadedTable
  /** Attempts used (1 = no conflict); for a commit found after an unknown outcome, the attempts before. */
  attempts: number
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

async function deleteQuietly(io: FileIO, uris: readonly string[]): Promise<void> {
  await Promise.all(uris.map((u) => io.delete(u).catch(() => {})))
}

/** Commit with retries; see the header comment. */
export async function commitWithRetry(opts: CommitLoopOptions): Promise<CommitLoopResult> {
  const { catalog, id, io } = opts
  const sleep = opts.sleep ?? defaultSleep
  const now = opts.now ?? Date.now
  const started = now()
  const display = [...id.namespace, id.name].join('.')
  const load = async (): Promise<LoadedTable> => {
    const t = await catalog.loadTable(id)
    if (!t) throw new NoSuchTableError(`${display} does not exist`)
    return t
  }
  let unknownOutcome = false // some attempt may have landed: never delete shared files after that
  const fail = async (err: unknown): Promise<never> => {
    if (!unknownOutcome) await opts.onDefiniteFailure?.()
    throw err
  }

  let base: LoadedTable
  try {
    base = opts.base ?? (await load())
  } catch (err) {
    return fail(err)
  }
  const policy = retryPolicy(base.metadata.properties, opts.retry)
  const maxAttempts = 1 + Math.max(0, Math.floor(policy.numRetries))
  let attempt = 1
  for (; attempt <= maxAttempts; attempt++) {
    if (attempt > 1) {
      if (now() - started > policy.totalTimeoutMs) break
      await sleep(retryDelay(attempt - 1, policy))
      try {
        base = await load()
      } catch (err) {
        if (unknownOutcome)
          throw new CommitStateUnknownError(`reload of ${display} failed after an unknown commit`, err)
        return fail(err)
      }
      // An earlier attempt whose outcome was unknown may have landed after all.
      if (opts.landed(base.metadata)) return { committed: base, attempts: attempt - 1 }
    }
    let planned: PlannedCommit
    try {
      planned = await opts.build(base, attempt)
    } catch (err) {
      return fail(err)
    }
    try {
      const committed = await catalog.commit(id, planned.requirements, planned.updates, { base })
      return { committed, attempts: attempt }
    } catch (err) {
      if (err instanceof CommitConflictError) {
        await deleteQuietly(io, planned.attemptFiles ?? []) // certainly unreferenced
        continue
      }
      if (err instanceof CommitStateUnknownError) {
        unknownOutcome = true // this attempt's files may be referenced now
        continue
      }
      return fail(err)
    }
  }
  const tries = Math.min(attempt, maxAttempts)
  if (unknownOutcome)
    throw new CommitStateUnknownError(`commit to ${display}: outcome unknown after ${tries} attempts`)
  return fail(
    new CommitRetriesExhaustedError(
      `commit to ${display}: ${tries} commit attempts lost to concurrent writers; retry later`,
    ),
  )
}
