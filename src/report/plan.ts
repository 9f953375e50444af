/**
 * Plans a scan from a table's current snapshot: the manifest list, manifests pruned by their
 * partition summaries, then data files pruned by their partition tuples (`src/scan/prune.ts`).
 * Manifests are immutable, so the live-file entries read from each are kept in a bounded LRU
 * keyed by path: a warm plan reads only the manifest list. A snapshot is immutable too, so whole
 * plans are kept per (manifest list, predicate): a repeated question on an unchanged table plans
 * nothing.
 */
import { LRUCache } from 'lru-cache'
import type { FileIO } from '../storage/file-io.ts'
import { currentSchema, currentSnapshot, type IcebergSchema, type LoadedTable } from '../table/index.ts'
import { parseManifestList, type ManifestFile } from '../write/manifest-list.ts'
import { DELETED } from '../scan/snapshot.ts'
import { readAvroFile } from '../write/avro.ts'
import { bindPredicate, manifestMayMatch, partitionMayMatch, type PartitionPredicate } from '../scan/prune.ts'

export interface PlannedFile {
  path: string
  sizeBytes: number
  records: number
}

export interface ScanPlan {
  schema: IcebergSchema
  snapshotId: bigint | undefined
  files: PlannedFile[]
  bytes: number
  manifests: { total: number; read: number }
}

interface CachedEntry {
  path: string
  sizeBytes: number
  records: number
  specId: number
  partition: Record<string, unknown>
}

/** What the planner reads of a manifest entry. */
interface LeanEntry {
  status: number
  data_file: {
    file_path: string
    file_size_in_bytes: bigint
    record_count: bigint
    partition: Record<string, unknown> | null
  }
}

const LEAN_DATA_FILE = new Set(['file_path', 'file_size_in_bytes', 'record_count', 'partition'])

/**
 * The manifest's entry schema with only the fields a plan needs (Avro schema resolution skips the
 * rest without decoding them into objects): the column metrics maps are most of a manifest, and
 * decoding them made a cold plan of the bench's table take 300 MB of heap for a moment.
 */
function leanEntrySchema(writer: object): object {
  type Field = { name: string; type: unknown }
  const record = writer as { fields: Field[] }
  return {
    ...record,
    fields: record.fields
      .filter((f) => f.name === 'status' || f.name === 'data_file')
      .map((f) => {
        if (f.name !== 'data_file') return f
        const df = f.type as { fields: Field[] }
        return { ...f, type: { ...df, fields: df.fields.filter((x) => LEAN_DATA_FILE.has(x.name)) } }
      }),
  }
}

/** A table that holds delete files: the query layer reads data files only, so it would over-count. */
export class DeleteFilesNotSupportedError extends Error {
  override name = 'DeleteFilesNotSupportedError'
}

export class SnapshotPlanner {
  private readonly manifests: LRUCache<string, CachedEntry[]>
  private readonly lists: LRUCache<string, ManifestFile[]>
  private readonly plans: LRUCache<string, ScanPlan>

  constructor(
    private readonly io: FileIO,
    options: { cachedManifests?: number; cachedPlans?: number } = {},
  ) {
    this.manifests = new LRUCache({ max: options.cachedManifests ?? 4096 })
    this.lists = new LRUCache({ max: 64 })
    this.plans = new LRUCache({ max: options.cachedPlans ?? 256 })
  }

  async plan(loaded: LoadedTable, predicate: PartitionPredicate): Promise<ScanPlan> {
    const { metadata } = loaded
    const schema = currentSchema(metadata)
    const snapshot = currentSnapshot(metadata)
    if (!snapshot)
      return { schema, snapshotId: undefined, files: [], bytes: 0, manifests: { total: 0, read: 0 } }
    const listPath = snapshot['manifest-list']
    // The schema is part of the key: a schema change commits no snapshot of its own.
    const key = JSON.stringify([
      listPath,
      metadata['current-schema-id'],
      predicate.days ?? null,
      predicate.values ? [predicate.values.column, [...predicate.values.in].sort()] : null,
    ])
    const cached = this.plans.get(key)
    if (cached) return cached
    const plan = await this.#plan(loaded, predicate, listPath)
    this.plans.set(key, plan)
    return plan
  }

  async #plan(loaded: LoadedTable, predicate: PartitionPredicate, listPath: string): Promise<ScanPlan> {
    const { metadata } = loaded
    const schema = currentSchema(metadata)
    const snapshot = currentSnapshot(metadata)!
    let list = this.lists.get(listPath)
    if (!list) this.lists.set(listPath, (list = parseManifestList(await this.io.read(listPath))))
    const bound = bindPredicate(metadata, predicate)
    const files: PlannedFile[] = []
    let bytes = 0
    let read = 0
    for (const m of list) {
      if (m.content !== 0) {
        if (m.added_files_count + m.existing_files_count > 0)
          throw new DeleteFilesNotSupportedError(
            `the table has delete files (manifest ${m.manifest_path}); reporting reads data files only`,
          )
        continue
      }
      // A manifest of only DELETED entries (what compaction and expiry leave behind until the next
      // merge) lists no live file: skip it unread, as Java's ManifestGroup does.
      if (m.added_files_count === 0 && m.existing_files_count === 0) continue
      if (!manifestMayMatch(bound, m, predicate)) continue
      read++
      for (const e of await this.entries(m)) {
        if (!partitionMayMatch(bound, e.specId, e.partition, predicate)) continue
        files.push({ path: e.path, sizeBytes: e.sizeBytes, records: e.records })
        bytes += e.sizeBytes
      }
    }
    return {
      schema,
      snapshotId: snapshot['snapshot-id'],
      files,
      bytes,
      manifests: { total: list.length, read },
    }
  }

  private async entries(m: ManifestFile): Promise<CachedEntry[]> {
    const have = this.manifests.get(m.manifest_path)
    if (have) return have
    const entries = readAvroFile<LeanEntry>(await this.io.read(m.manifest_path), {
      project: leanEntrySchema,
    }).records
    const out: CachedEntry[] = []
    for (const e of entries) {
      if (e.status === DELETED) continue
      out.push({
        path: e.data_file.file_path,
        sizeBytes: Number(e.data_file.file_size_in_bytes),
        records: Number(e.data_file.record_count),
        specId: m.partition_spec_id,
        partition: e.data_file.partition ?? {},
      })
    }
    this.manifests.set(m.manifest_path, out)
    return out
  }
}
