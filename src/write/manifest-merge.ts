/**
 * Merging appends, as Java's `MergeAppend` (`MergingSnapshotProducer` → `ManifestMergeManager`):
 * the manifest list of a new snapshot is [this append's manifest, ...the parent's manifests],
 * grouped by partition spec (highest spec id first), each group bin-packed from its END into bins
 * of at most `commit.manifest.target-size-bytes` (Java's `ListPacker.packEnd` with lookback 1, so
 * order is kept and the under-filled bin is the newest, merged again next time). A bin of one
 * manifest stays as it is; the bin holding the new manifest is merged only once it has
 * `commit.manifest.min-count-to-merge` manifests; every other bin of two or more is merged.
 *
 * A merged manifest holds the bin's entries in order: this snapshot's own ADDED entries stay ADDED
 * (sequence numbers inherited, null); every other live entry becomes EXISTING with its original
 * snapshot id, data sequence number and file sequence number written explicitly (inherited values
 * resolved from the manifest it came from, as Java's reader does); DELETED entries of earlier
 * snapshots are dropped. Totals in the snapshot summary do not change: merging moves no file.
 *
 * If a bin cannot be merged safely (a spec that no longer binds to the schema, an entry Floe's
 * manifest schema cannot encode), it is kept unmerged: the list is then longer, never wrong.
 */
import type { FileIO } from '../storage/file-io.ts'
import type { IcebergSchema, PartitionSpec } from '../table/metadata.ts'
import { readAvroFile, writeAvroFile } from './avro.ts'
import { manifestEntrySchema, manifestHeader, type DataFile } from './manifest.ts'
import { partitionSummaries, type ManifestFile } from './manifest-list.ts'
import { bindSpec, type PartitionTuple } from './partition.ts'
import { clusterByPartition, clusterLimit } from './manifest-cluster.ts'

export interface MergePolicy {
  enabled: boolean
  minCountToMerge: number
  targetSizeBytes: number
}

/** Java's `TableProperties` defaults. */
export const JAVA_MERGE_DEFAULTS: MergePolicy = {
  enabled: true,
  minCountToMerge: 100,
  targetSizeBytes: 8 * 1024 * 1024,
}

/** `commit.manifest-merge.enabled`, `commit.manifest.min-count-to-merge`, `commit.manifest.target-size-bytes`. */
export function mergePolicy(properties: Record<string, string> | undefined): MergePolicy {
  const num = (key: string, fallback: number) => {
    const v = Number(properties?.[key])
    return properties?.[key] !== undefined && Number.isFinite(v) && v > 0 ? v : fallback
  }
  const enabled = properties?.['commit.manifest-merge.enabled']
  return {
    enabled: enabled === undefined ? JAVA_MERGE_DEFAULTS.enabled : enabled.toLowerCase() === 'true',
    minCountToMerge: num('commit.manifest.min-count-to-merge', JAVA_MERGE_DEFAULTS.minCountToMerge),
    targetSizeBytes: num('commit.manifest.target-size-bytes', JAVA_MERGE_DEFAULTS.targetSizeBytes),
  }
}

/** Java's `ListPacker(target, lookback 1, largestBinFirst false).packEnd(items, weight)`. */
export function packEnd<T>(items: readonly T[], weight: (t: T) => number, target: number): T[][] {
  const bins: T[][] = []
  let bin: T[] = []
  let binWeight = 0
  for (let i = items.length - 1; i >= 0; i--) {
    const w = weight(items[i])
    if (bin.length > 0 && binWeight + w > target) {
      bins.push(bin.reverse())
      bin = []
      binWeight = 0
    }
    bin.push(items[i])
    binWeight += w
  }
  if (bin.length > 0) bins.push(bin.reverse())
  return bins.reverse()
}

/** What to do with a manifest list: bins in list order, each kept as is or merged into one. */
export function planMerge(
  manifests: readonly ManifestFile[],
  first: ManifestFile,
  policy: MergePolicy,
): { bin: ManifestFile[]; merge: boolean }[] {
  if (!policy.enabled || manifests.length === 0) return manifests.map((m) => ({ bin: [m], merge: false }))
  // Java groups in a TreeMap with reverse order: highest spec id first, list order within a group.
  const groups = new Map<number, ManifestFile[]>()
  for (const m of manifests) {
    const g = groups.get(m.partition_spec_id) ?? []
    g.push(m)
    groups.set(m.partition_spec_id, g)
  }
  const out: { bin: ManifestFile[]; merge: boolean }[] = []
  for (const specId of [...groups.keys()].sort((a, b) => b - a)) {
    // Only data manifests are merged (Floe's tables have no delete manifests; keep any others).
    const group = groups.get(specId)!
    const data = group.filter((m) => m.content === 0)
    for (const m of group) if (m.content !== 0) out.push({ bin: [m], merge: false })
    for (const bin of packEnd(data, (m) => Number(m.manifest_length), policy.targetSizeBytes)) {
      const merge = bin.length > 1 && !(bin.includes(first) && bin.length < policy.minCountToMerge)
      out.push({ bin, merge })
    }
  }
  return out
}

export interface MergeInput {
  io: FileIO
  /** This append's manifest first, then the parent's manifests. */
  manifests: readonly ManifestFile[]
  policy: MergePolicy
  snapshotId: bigint
  /** Sequence number of the snapshot being committed. */
  sequenceNumber: bigint
  /** The table's current schema (header of merged manifests; binds the specs). */
  schema: IcebergSchema
  specs: readonly PartitionSpec[]
  /** Location for the n-th merged manifest of this attempt. */
  newPath: (n: number) => string
}

export interface MergeResult {
  manifests: ManifestFile[]
  /** Merged manifests written (attempt-specific files). */
  written: string[]
}

type Entry = {
  status: number
  snapshot_id: bigint | null
  sequence_number: bigint | null
  file_sequence_number: bigint | null
  data_file: Record<string, unknown>
}

/**
 * Apply the merge plan: each merged bin is written as manifests clustered by partition
 * (`manifest-cluster.ts`: at most a quarter of min-count-to-merge of them, each covering a narrow
 * range of the first partition field), where Java writes one, so that readers can prune by the
 * manifests' partition summaries.
 */
export async function mergeManifests(input: MergeInput): Promise<MergeResult> {
  const plan = planMerge(input.manifests, input.manifests[0], input.policy)
  const manifests: ManifestFile[] = []
  const written: string[] = []
  for (const { bin, merge } of plan) {
    if (!merge) {
      manifests.push(...bin)
      continue
    }
    const merged = await mergeBin(input, bin, written.length + 1).catch(() => undefined)
    if (merged === undefined) {
      manifests.push(...bin) // cannot merge safely: keep the bin as it is
      continue
    }
    written.push(...merged.map((m) => m.manifest_path))
    manifests.push(...merged)
  }
  return { manifests, written }
}

/**
 * One bin of manifests (one partition spec) merged into manifests clustered by partition: the
 * input's own ADDED entries (snapshot `input.snapshotId`) stay ADDED, every other live entry
 * becomes EXISTING with its sequence numbers explicit. Also used by rewrite-manifests.
 */
export async function mergeBin(
  input: Omit<MergeInput, 'manifests' | 'newPath'> & { newPath: (n: number) => string },
  bin: readonly ManifestFile[],
  n: number,
): Promise<ManifestFile[]> {
  const specId = bin[0].partition_spec_id
  const spec = input.specs.find((s) => s['spec-id'] === specId)
  if (!spec) throw new Error(`partition spec ${specId} not in the table metadata`)
  const fields = bindSpec(spec, input.schema)
  const avroSchema = manifestEntrySchema(fields)
  const dataFileFields = (
    avroSchema.fields.find((f) => f.name === 'data_file')!.type as { fields: { name: string }[] }
  ).fields.map((f) => f.name)
  const kept: { entry: Entry; tuple: PartitionTuple; added: boolean; dataSeq: bigint }[] = []
  for (const m of bin) {
    const entries = readAvroFile<Entry>(await input.io.read(m.manifest_path)).records
    for (const e of entries) {
      const snapshotId = e.snapshot_id ?? m.added_snapshot_id
      if (e.status === 2) continue // deletes of earlier snapshots are not carried (Java)
      // Inheritance as Java's reader: null sequence numbers of the manifest's own entries.
      const dataSeq = e.sequence_number ?? m.sequence_number
      const fileSeq = e.file_sequence_number ?? m.sequence_number
      const dataFile: Record<string, unknown> = {}
      for (const name of dataFileFields) dataFile[name] = e.data_file[name] ?? null
      dataFile.content ??= 0
      const partition = (e.data_file.partition ?? {}) as Record<string, unknown>
      dataFile.partition = Object.fromEntries(fields.map((f) => [f.name, partition[f.name] ?? null]))
      const tuple = fields.map((f) => (partition[f.name] ?? null) as PartitionTuple[number])
      if (e.status === 1 && snapshotId === input.snapshotId)
        kept.push({
          entry: { ...e, snapshot_id: snapshotId, data_file: dataFile },
          tuple,
          added: true,
          dataSeq,
        })
      else
        kept.push({
          entry: {
            status: 0,
            snapshot_id: snapshotId,
            sequence_number: dataSeq,
            file_sequence_number: fileSeq,
            data_file: dataFile,
          },
          tuple,
          added: false,
          dataSeq,
        })
    }
  }
  const clusters = clusterByPartition(kept, (k) => k.tuple, clusterLimit(input.policy.minCountToMerge))
  const out: ManifestFile[] = []
  for (const [i, cluster] of clusters.entries()) {
    const count = { added: 0, existing: 0, addedRows: 0n, existingRows: 0n }
    let minSeq: bigint | undefined
    for (const k of cluster) {
      const rows = BigInt(k.entry.data_file.record_count as bigint | number)
      const seq = k.added ? input.sequenceNumber : k.dataSeq
      if (k.added) {
        count.added++
        count.addedRows += rows
      } else {
        count.existing++
        count.existingRows += rows
      }
      minSeq = minSeq === undefined || seq < minSeq ? seq : minSeq
    }
    const bytes = writeAvroFile(
      avroSchema,
      cluster.map((k) => k.entry),
      manifestHeader(input.schema, spec),
    )
    // Paths stay unique within the attempt: the bin's number, then the cluster's.
    const path = clusters.length === 1 ? input.newPath(n) : input.newPath(n).replace(/\.avro$/, `-c${i}.avro`)
    await input.io.write(path, bytes)
    const pseudo = cluster.map((k) => ({ partition: k.tuple }) as unknown as DataFile)
    out.push({
      manifest_path: path,
      manifest_length: BigInt(bytes.byteLength),
      partition_spec_id: specId,
      content: 0,
      sequence_number: input.sequenceNumber,
      min_sequence_number: minSeq ?? input.sequenceNumber,
      added_snapshot_id: input.snapshotId,
      added_files_count: count.added,
      existing_files_count: count.existing,
      deleted_files_count: 0,
      added_rows_count: count.addedRows,
      existing_rows_count: count.existingRows,
      deleted_rows_count: 0n,
      partitions: partitionSummaries(fields, pseudo),
      key_metadata: null,
    })
  }
  return out
}
