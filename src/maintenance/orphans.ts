/**
 * Orphan removal (Iceberg Java `DeleteOrphanFiles`, Spark's `remove_orphan_files`): deletes files
 * under the table's location that no metadata references and that are older than a safety window.
 *
 * Referenced ("reachable") = the current metadata file and every file in its `metadata-log`; for
 * every snapshot its manifest list, every manifest in it and every data or delete file any of
 * those manifests lists (whatever the entry's status: a DELETED entry's file may still be read by
 * an older snapshot); the `statistics` and `partition-statistics` files; and `version-hint.text`
 * of file-system tables. Everything else under `<location>/` (plus `write.data.path` /
 * `write.metadata.path` when set elsewhere) is an orphan candidate.
 *
 * Why the age window (default 3 days, `FLOE_MAINTENANCE_ORPHAN_AGE_SECONDS`) makes this safe with
 * concurrent writers: a commit in flight (Floe's own flush on another replica, Spark, Trino) has
 * written its data files, manifests and next metadata file but not yet swapped the pointer, so
 * they are referenced by nothing yet; they are only minutes old, and a commit either lands or is
 * abandoned long before the window passes. The listing is taken *before* the metadata is loaded,
 * so a commit that lands in between is seen as referencing its files.
 *
 * Paths are compared without scheme differences that name the same object (`s3a://`/`s3n://` vs
 * `s3://`, `file:/` vs `file:///`).
 */
import type { FileIO } from '../storage/file-io.ts'
import type { TableMetadata } from '../table/metadata.ts'
import { parseManifestList } from '../write/manifest-list.ts'
import { readManifest } from '../scan/snapshot.ts'

export interface OrphanOptions {
  io: FileIO
  /** Loads the table's current metadata and its location (called after listing). */
  load: () => Promise<{ metadata: TableMetadata; metadataLocation: string }>
  /** Only files last modified before `nowMs - olderThanMs` are deleted. */
  olderThanMs: number
  nowMs?: number
  /** List only, delete nothing. */
  dryRun?: boolean
}

export interface OrphanResult {
  /** Files listed under the table's locations. */
  listed: number
  referenced: number
  /** Unreferenced files deleted (or that would be, in a dry run). */
  deleted: string[]
  /** Unreferenced files kept because they are younger than the window. */
  tooYoung: number
}

export function normalizePath(uri: string): string {
  return uri
    .replace(/^s3[an]:\/\//, 's3://')
    .replace(/^file:\/(?!\/)/, 'file:///')
    .replace(/^file:\/\/(?!\/)/, 'file:///')
}

/** Every file the table's metadata references (normalised paths). */
export async function reachableFiles(
  io: FileIO,
  metadata: TableMetadata,
  metadataLocation: string,
): Promise<Set<string>> {
  const out = new Set<string>()
  const add = (p: string | undefined) => p && out.add(normalizePath(p))
  add(metadataLocation)
  for (const m of metadata['metadata-log'] ?? []) add(m['metadata-file'])
  for (const s of [...(metadata.statistics ?? []), ...(metadata['partition-statistics'] ?? [])])
    add((s as { 'statistics-path'?: string })['statistics-path'])
  const manifestsSeen = new Set<string>()
  for (const snap of metadata.snapshots ?? []) {
    add(snap['manifest-list'])
    for (const m of parseManifestList(await io.read(snap['manifest-list']))) {
      add(m.manifest_path)
      // Manifests are immutable and shared by many snapshots: read each once.
      if (manifestsSeen.has(m.manifest_path)) continue
      manifestsSeen.add(m.manifest_path)
      for (const e of (await readManifest(io, m)).entries) add(e.data_file.file_path)
    }
  }
  return out
}

/** Where the table keeps files: its location, plus data/metadata paths configured elsewhere. */
function tablePrefixes(metadata: TableMetadata): string[] {
  const base = `${metadata.location.replace(/\/+$/, '')}/`
  const extra = [metadata.properties?.['write.data.path'], metadata.properties?.['write.metadata.path']]
    .filter((p): p is string => p !== undefined && p !== '')
    .map((p) => `${p.replace(/\/+$/, '')}/`)
    .filter((p) => !p.startsWith(base))
  return [base, ...extra]
}

export async function removeOrphans(opts: OrphanOptions): Promise<OrphanResult> {
  const { io } = opts
  const cutoff = (opts.nowMs ?? Date.now()) - opts.olderThanMs
  // List first, load second: a commit landing in between is then seen as referencing its files.
  const first = await opts.load()
  const listed = (await Promise.all(tablePrefixes(first.metadata).map((p) => io.listWithTimes(p)))).flat()
  const { metadata, metadataLocation } = await opts.load()
  const reachable = await reachableFiles(io, metadata, metadataLocation)
  const deleted: string[] = []
  let tooYoung = 0
  let referenced = 0
  for (const f of listed) {
    const p = normalizePath(f.uri)
    if (reachable.has(p) || p.endsWith('/version-hint.text')) {
      referenced++
      continue
    }
    if (f.lastModifiedMs >= cutoff) {
      tooYoung++
      continue
    }
    deleted.push(f.uri)
  }
  if (!opts.dryRun) for (const uri of deleted) await io.delete(uri)
  return { listed: listed.length, referenced, deleted, tooYoung }
}
