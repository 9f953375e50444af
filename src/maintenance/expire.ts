/**
 * Snapshot expiry, as Iceberg Java's `ExpireSnapshots` (`RemoveSnapshots` + `ReachableFileCleanup`),
 * for one table; the maintenance scheduler calls `expireSnapshots` per table.
 *
 * Which snapshots go (`planExpiry`, pure), per Java's `RemoveSnapshots`:
 * - a ref other than `main` whose snapshot is older than its `max-ref-age-ms` (else the table's
 *   `history.expire.max-ref-age-ms`, default forever) is removed;
 * - each remaining branch keeps its ancestors while fewer than `min-snapshots-to-keep` (ref, else
 *   `history.expire.min-snapshots-to-keep`, default 1) are kept or the ancestor is younger than
 *   `max-snapshot-age-ms` (ref, else `history.expire.max-snapshot-age-ms`, default 5 days);
 *   Floe adds a count bound, `floe.history.max-snapshots` (unset = none): beyond it an ancestor goes
 *   even if young (never below min-snapshots-to-keep). A table committing ten times a second keeps
 *   its history flat with it; an age alone would keep 4 million snapshots over 5 days;
 * - tags keep their snapshot; snapshots no ref reaches are kept only while younger than the age.
 *
 * The commit is `remove-snapshots` (+ `remove-snapshot-ref` for aged refs) through the commit core,
 * with `assert-ref-snapshot-id` for every ref the plan looked at, so a ref moved meanwhile means a
 * re-plan on the new table, never removing what it now needs.
 *
 * Files are deleted only after the commit succeeded, and only files no kept snapshot reaches,
 * computed from the COMMITTED metadata (all snapshots of all refs, including ones other writers
 * added in between): manifest lists of expired snapshots, manifests they list that no kept list
 * lists, and data files those manifests name that no kept manifest names. A file that cannot be
 * read or deleted is reported, never guessed about: an unreadable kept manifest stops the data-file
 * deletion for the run.
 */
import { NoSuchTableError } from '../errors.ts'
import type { FileIO } from '../storage/file-io.ts'
import type { Catalog, LoadedTable, TableIdentifier } from '../table/catalog.ts'
import { commitWithRetry, type CommitRetryPolicy } from '../table/commit.ts'
import type { Snapshot, TableMetadata } from '../table/metadata.ts'
import type { TableRequirement } from '../table/requirements.ts'
import type { TableUpdate } from '../table/updates.ts'
import { readAvroFile } from '../write/avro.ts'
import { parseManifestList } from '../write/manifest-list.ts'

export interface ExpirePolicy {
  maxSnapshotAgeMs: bigint
  minSnapshotsToKeep: number
  maxRefAgeMs: bigint
  /** Floe's count bound on a branch's kept ancestors (`floe.history.max-snapshots`). */
  maxSnapshots: number | undefined
}

/** Java's `TableProperties` defaults (5 days; 1; forever). */
export const JAVA_EXPIRE_DEFAULTS: ExpirePolicy = {
  maxSnapshotAgeMs: 5n * 24n * 60n * 60n * 1000n,
  minSnapshotsToKeep: 1,
  maxRefAgeMs: (1n << 63n) - 1n,
  maxSnapshots: undefined,
}

const positiveLong = (v: unknown): bigint | undefined => {
  if (typeof v === 'bigint') return v >= 0n ? v : undefined
  if (typeof v === 'number' && Number.isInteger(v)) return v >= 0 ? BigInt(v) : undefined
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt(v)
  return undefined
}

/** The table's `history.expire.*` and `floe.history.max-snapshots` over Java's defaults. */
export function expirePolicy(properties: Record<string, string> | undefined): ExpirePolicy {
  const p = properties ?? {}
  const maxSnapshots = positiveLong(p['floe.history.max-snapshots'])
  return {
    maxSnapshotAgeMs:
      positiveLong(p['history.expire.max-snapshot-age-ms']) ?? JAVA_EXPIRE_DEFAULTS.maxSnapshotAgeMs,
    minSnapshotsToKeep: Math.max(
      1,
      Number(
        positiveLong(p['history.expire.min-snapshots-to-keep']) ?? JAVA_EXPIRE_DEFAULTS.minSnapshotsToKeep,
      ),
    ),
    maxRefAgeMs: positiveLong(p['history.expire.max-ref-age-ms']) ?? JAVA_EXPIRE_DEFAULTS.maxRefAgeMs,
    maxSnapshots: maxSnapshots === undefined || maxSnapshots === 0n ? undefined : Number(maxSnapshots),
  }
}

export interface ExpiryPlan {
  /** Snapshot ids to remove, oldest first. */
  expire: bigint[]
  /** Refs older than their max age. */
  removeRefs: string[]
  /** The refs (name → snapshot id) the plan was made on. */
  refsSeen: Record<string, bigint>
}

/** What to expire in `metadata` at `nowMs` (Java's RemoveSnapshots rules + Floe's count bound). */
export function planExpiry(metadata: TableMetadata, nowMs: bigint, policy: ExpirePolicy): ExpiryPlan {
  const byId = new Map<bigint, Snapshot>()
  for (const s of metadata.snapshots ?? []) byId.set(BigInt(s['snapshot-id']), s)
  const refs = { ...(metadata.refs ?? {}) }
  const current = metadata['current-snapshot-id']
  if (refs.main === undefined && current !== undefined && current !== null && BigInt(current) !== -1n)
    refs.main = { 'snapshot-id': BigInt(current), type: 'branch' }
  const refsSeen: Record<string, bigint> = {}
  const removeRefs: string[] = []
  const retained = new Set<bigint>()
  for (const [name, ref] of Object.entries(refs)) {
    const id = BigInt(ref['snapshot-id'])
    refsSeen[name] = id
    const snap = byId.get(id)
    const maxRefAge = positiveLong(ref['max-ref-age-ms']) ?? policy.maxRefAgeMs
    if (name !== 'main' && (!snap || nowMs - BigInt(snap['timestamp-ms']) > maxRefAge)) {
      removeRefs.push(name)
      continue
    }
    if (!snap) continue
    if (ref.type === 'tag') {
      retained.add(id)
      continue
    }
    const olderThan = nowMs - (positiveLong(ref['max-snapshot-age-ms']) ?? policy.maxSnapshotAgeMs)
    const minKeep = Number(positiveLong(ref['min-snapshots-to-keep']) ?? BigInt(policy.minSnapshotsToKeep))
    let kept = 0
    for (let s: Snapshot | undefined = snap; s;) {
      const young = BigInt(s['timestamp-ms']) >= olderThan
      const underCount = policy.maxSnapshots === undefined || kept < policy.maxSnapshots
      if (kept < minKeep || (young && underCount)) {
        retained.add(BigInt(s['snapshot-id']))
        kept++
      } else break
      const parent: bigint | undefined = s['parent-snapshot-id']
      s = parent === undefined || parent === null ? undefined : byId.get(BigInt(parent))
    }
  }
  // Snapshots no ref reaches (e.g. left by a rollback): kept while younger than the table's age.
  const reachable = new Set<bigint>()
  for (const [name, ref] of Object.entries(refs)) {
    if (removeRefs.includes(name)) continue
    for (let s = byId.get(BigInt(ref['snapshot-id'])); s;) {
      const id = BigInt(s['snapshot-id'])
      if (reachable.has(id)) break
      reachable.add(id)
      const parent = s['parent-snapshot-id']
      s = parent === undefined || parent === null ? undefined : byId.get(BigInt(parent))
    }
  }
  const olderThan = nowMs - policy.maxSnapshotAgeMs
  for (const [id, s] of byId)
    if (!reachable.has(id) && BigInt(s['timestamp-ms']) >= olderThan) retained.add(id)
  const expire = [...byId.values()]
    .filter((s) => !retained.has(BigInt(s['snapshot-id'])))
    .sort((a, b) => (BigInt(a['timestamp-ms']) < BigInt(b['timestamp-ms']) ? -1 : 1))
    .map((s) => BigInt(s['snapshot-id']))
  return { expire, removeRefs, refsSeen }
}

export interface ExpireReport {
  table: string
  /** False when there was nothing to expire (no commit made). */
  committed: boolean
  snapshotsExpired: number
  refsRemoved: string[]
  filesDeleted: { manifestLists: number; manifests: number; dataFiles: number }
  /** Files that were unreachable but could not be deleted (or read), for the log. */
  failures: { uri: string; error: string }[]
  /** Commit attempts (0 = no commit). */
  attempts: number
  durationMs: number
  metadataLocation: string
}

export interface ExpireOptions {
  catalog: Catalog
  io: FileIO
  id: TableIdentifier
  /** Clock (default Date.now): snapshot ages are measured against it. */
  nowMs?: () => bigint
  /** Overrides of the table's policy (e.g. an operator's one-off run). */
  policy?: Partial<ExpirePolicy>
  /** Delete unreachable files after the commit (default true; Java's `cleanExpiredFiles`). */
  deleteFiles?: boolean
  retry?: Partial<CommitRetryPolicy>
  sleep?(ms: number): Promise<void>
}

/** Expire the table's old snapshots, then delete the files only they reached. */
export async function expireSnapshots(opts: ExpireOptions): Promise<ExpireReport> {
  const started = performance.now()
  const now = opts.nowMs ?? (() => BigInt(Date.now()))
  const table = [...opts.id.namespace, opts.id.name].join('.')
  const report: ExpireReport = {
    table,
    committed: false,
    snapshotsExpired: 0,
    refsRemoved: [],
    filesDeleted: { manifestLists: 0, manifests: 0, dataFiles: 0 },
    failures: [],
    attempts: 0,
    durationMs: 0,
    metadataLocation: '',
  }
  const loaded = await opts.catalog.loadTable(opts.id)
  if (!loaded) throw new NoSuchTableError(`${table} does not exist`)
  const planFor = (t: LoadedTable) =>
    planExpiry(t.metadata, now(), { ...expirePolicy(t.metadata.properties), ...opts.policy })
  const first = planFor(loaded)
  report.metadataLocation = loaded.metadataLocation
  if (first.expire.length === 0 && first.removeRefs.length === 0) {
    report.durationMs = performance.now() - started
    return report
  }

  let plan = first
  let before = loaded.metadata
  const { committed, attempts } = await commitWithRetry({
    catalog: opts.catalog,
    id: opts.id,
    io: opts.io,
    base: loaded,
    retry: opts.retry,
    sleep: opts.sleep,
    build: async (t) => {
      plan = planFor(t)
      before = t.metadata
      const requirements: TableRequirement[] = [
        { type: 'assert-table-uuid', uuid: t.metadata['table-uuid'] },
        ...Object.entries(plan.refsSeen).map(([ref, id]): TableRequirement => ({
          type: 'assert-ref-snapshot-id',
          ref,
          'snapshot-id': id,
        })),
      ]
      const updates: TableUpdate[] = [
        ...plan.removeRefs.map((r): TableUpdate => ({ action: 'remove-snapshot-ref', 'ref-name': r })),
        ...(plan.expire.length > 0
          ? [{ action: 'remove-snapshots' as const, 'snapshot-ids': plan.expire }]
          : []),
      ]
      return { requirements, updates }
    },
    // After an unknown outcome: landed if none of the planned snapshots is left.
    landed: (md) => {
      const ids = new Set(plan.expire)
      return !md.snapshots.some((s) => ids.has(BigInt(s['snapshot-id']))) && plan.expire.length > 0
    },
  })
  report.committed = true
  report.attempts = attempts
  report.snapshotsExpired = plan.expire.length
  report.refsRemoved = plan.removeRefs
  report.metadataLocation = committed.metadataLocation
  if (opts.deleteFiles !== false) {
    const expired = before.snapshots.filter((s) => plan.expire.includes(BigInt(s['snapshot-id'])))
    await deleteUnreachable(opts.io, expired, committed.metadata, report)
  }
  report.durationMs = performance.now() - started
  return report
}

/** The manifest paths a snapshot lists. */
async function manifestsOf(io: FileIO, s: Snapshot): Promise<string[]> {
  return parseManifestList(await io.read(s['manifest-list'])).map((m) => m.manifest_path)
}

/** The data (and delete) file paths a manifest names, in any status. */
async function filesOf(io: FileIO, manifest: string): Promise<string[]> {
  return readAvroFile<{ data_file: { file_path: string } }>(await io.read(manifest)).records.map(
    (e) => e.data_file.file_path,
  )
}

/**
 * Delete what only `expired` reached, given the committed metadata `kept` (ReachableFileCleanup).
 * Never deletes a file when it cannot tell whether a kept snapshot needs it.
 */
async function deleteUnreachable(
  io: FileIO,
  expired: readonly Snapshot[],
  kept: TableMetadata,
  report: ExpireReport,
): Promise<void> {
  const fail = (uri: string, err: unknown) => report.failures.push({ uri, error: String(err) })
  const keptLists = new Set(kept.snapshots.map((s) => s['manifest-list']))
  const keptManifests = new Set<string>()
  for (const s of kept.snapshots) {
    try {
      for (const m of await manifestsOf(io, s)) keptManifests.add(m)
    } catch (err) {
      fail(s['manifest-list'], err) // a kept list we cannot read: we cannot tell what it needs
      return
    }
  }
  const lists = [...new Set(expired.map((s) => s['manifest-list']))].filter((l) => !keptLists.has(l))
  const candidateManifests = new Set<string>()
  const readableLists: string[] = []
  for (const s of expired) {
    if (keptLists.has(s['manifest-list'])) continue
    try {
      for (const m of await manifestsOf(io, s)) if (!keptManifests.has(m)) candidateManifests.add(m)
      readableLists.push(s['manifest-list'])
    } catch (err) {
      fail(s['manifest-list'], err) // already gone, or unreadable: leave it to orphan removal
    }
  }
  const candidateFiles = new Set<string>()
  const readableManifests: string[] = []
  for (const m of candidateManifests) {
    try {
      for (const f of await filesOf(io, m)) candidateFiles.add(f)
      readableManifests.push(m)
    } catch (err) {
      fail(m, err)
    }
  }
  if (candidateFiles.size > 0) {
    try {
      for (const m of keptManifests) for (const f of await filesOf(io, m)) candidateFiles.delete(f)
    } catch (err) {
      fail('(kept manifests)', err)
      candidateFiles.clear() // cannot tell which data files are still needed: delete none
    }
  }
  const remove = async (uris: Iterable<string>, kind: keyof ExpireReport['filesDeleted']) => {
    await Promise.all(
      [...uris].map(async (u) => {
        try {
          await io.delete(u)
          report.filesDeleted[kind]++
        } catch (err) {
          fail(u, err)
        }
      }),
    )
  }
  // Data files first, lists last: a crash in between leaves lists/manifests naming deleted files
  // only of snapshots already removed from the metadata, which no reader can reach.
  await remove(candidateFiles, 'dataFiles')
  await remove(readableManifests, 'manifests')
  await remove(
    lists.filter((l) => readableLists.includes(l)),
    'manifestLists',
  )
}
