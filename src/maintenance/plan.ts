/**
 * Which files compaction rewrites, following Iceberg Java's bin-pack planner
 * (`SizeBasedFileRewritePlanner` / `BinPackRewriteFilePlanner`, as Spark's `rewrite_data_files`
 * runs it) with the same option names and defaults:
 *
 * - `target-file-size-bytes`: the table's `write.target-file-size-bytes` (Java default 512 MB);
 * - `min-file-size-bytes` = 0.75 × target, `max-file-size-bytes` = 1.8 × target: only files outside
 *   that range are candidates;
 * - candidates of one partition are packed in order into groups of at most
 *   `max-file-group-size-bytes` (100 GB);
 * - a group is rewritten when it has at least `min-input-files` (5) files, or more than one file and
 *   more bytes than the target, or more bytes than the max file size;
 * - the group's output is split into `expectedOutputFiles` files (Java's rounding rule: a remainder
 *   larger than the min size becomes its own file, else it is spread if that keeps files within
 *   110 % of the target).
 *
 * Floe adds one rule Java leaves to the caller's filter: only partitions that are **quiet** are
 * planned, i.e. whose newest file was added at least `quietMs` ago (or by a snapshot that is gone
 * from the metadata), so the partition being appended to right now is not rewritten every run.
 * With day partitions this is yesterday's and older days, plus today once traffic stops.
 */
import type { LiveFile } from '../scan/snapshot.ts'

export interface PlanOptions {
  targetFileSizeBytes: number
  minFileSizeBytes: number
  maxFileSizeBytes: number
  minInputFiles: number
  maxFileGroupSizeBytes: number
  /** A partition is planned only if its newest file is at least this old. */
  quietMs: number
}

export const MIN_FILE_SIZE_DEFAULT_RATIO = 0.75
export const MAX_FILE_SIZE_DEFAULT_RATIO = 1.8
export const TARGET_FILE_SIZE_DEFAULT = 512 * 1024 * 1024
export const MIN_INPUT_FILES_DEFAULT = 5
export const MAX_FILE_GROUP_SIZE_DEFAULT = 100 * 1024 * 1024 * 1024

/** Options from the table properties (`write.target-file-size-bytes`) and Floe's overrides. */
export function planOptions(
  properties: Record<string, string>,
  overrides: Partial<PlanOptions> & { quietMs: number },
): PlanOptions {
  const target =
    overrides.targetFileSizeBytes ??
    Number(properties['write.target-file-size-bytes'] ?? TARGET_FILE_SIZE_DEFAULT)
  return {
    targetFileSizeBytes: target,
    minFileSizeBytes: overrides.minFileSizeBytes ?? Math.floor(target * MIN_FILE_SIZE_DEFAULT_RATIO),
    maxFileSizeBytes: overrides.maxFileSizeBytes ?? Math.floor(target * MAX_FILE_SIZE_DEFAULT_RATIO),
    minInputFiles: overrides.minInputFiles ?? MIN_INPUT_FILES_DEFAULT,
    maxFileGroupSizeBytes: overrides.maxFileGroupSizeBytes ?? MAX_FILE_GROUP_SIZE_DEFAULT,
    quietMs: overrides.quietMs,
  }
}

export interface FileGroup {
  /** Partition key (spec id + partition record) shared by the files. */
  partitionKey: string
  specId: number
  partition: Record<string, unknown>
  files: LiveFile[]
  inputBytes: number
  records: number
  /** How many files to write (Java `expectedOutputFiles`). */
  outputFiles: number
}

export function partitionKey(specId: number, partition: Record<string, unknown>): string {
  return `${specId}|${JSON.stringify(partition, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`
}

const size = (f: LiveFile) => Number(f.sizeBytes)

/** Java `expectedOutputFiles`. */
export function expectedOutputFiles(inputSize: number, o: PlanOptions): number {
  if (inputSize < o.targetFileSizeBytes) return 1
  const withRemainder = Math.ceil(inputSize / o.targetFileSizeBytes)
  const withoutRemainder = Math.floor(inputSize / o.targetFileSizeBytes)
  const avgWithout = inputSize / withoutRemainder
  const writeMax = o.targetFileSizeBytes + (o.maxFileSizeBytes - o.targetFileSizeBytes) * 0.5
  if (inputSize % o.targetFileSizeBytes > o.minFileSizeBytes) return withRemainder
  if (avgWithout < Math.min(1.1 * o.targetFileSizeBytes, writeMax)) return withoutRemainder
  return withRemainder
}

/**
 * The groups to rewrite. `addedAtMs(snapshotId)` gives when a snapshot was committed (undefined
 * when it has been expired); only files of `specId` (the table's default spec) are considered.
 */
export function planGroups(
  files: readonly LiveFile[],
  specId: number,
  o: PlanOptions,
  nowMs: number,
  addedAtMs: (snapshotId: bigint) => number | undefined,
): FileGroup[] {
  const byPartition = new Map<string, LiveFile[]>()
  for (const f of files) {
    if (f.specId !== specId) continue
    const key = partitionKey(f.specId, f.partition)
    let list = byPartition.get(key)
    if (!list) byPartition.set(key, (list = []))
    list.push(f)
  }
  const groups: FileGroup[] = []
  for (const [key, list] of byPartition) {
    const newest = Math.max(...list.map((f) => addedAtMs(f.snapshotId) ?? 0))
    if (nowMs - newest < o.quietMs) continue
    const candidates = list
      .filter((f) => size(f) < o.minFileSizeBytes || size(f) > o.maxFileSizeBytes)
      .sort((a, b) => (a.path < b.path ? -1 : 1))
    // Java's ListPacker with lookback 1: fill one bin in order, start a new one when full.
    const bins: LiveFile[][] = []
    let bin: LiveFile[] = []
    let binBytes = 0
    for (const f of candidates) {
      if (bin.length > 0 && binBytes + size(f) > o.maxFileGroupSizeBytes) {
        bins.push(bin)
        bin = []
        binBytes = 0
      }
      bin.push(f)
      binBytes += size(f)
    }
    if (bin.length) bins.push(bin)
    for (const b of bins) {
      const bytes = b.reduce((s, f) => s + size(f), 0)
      const enoughInputFiles = b.length > 1 && b.length >= o.minInputFiles
      const enoughContent = b.length > 1 && bytes > o.targetFileSizeBytes
      const tooMuchContent = bytes > o.maxFileSizeBytes
      if (!(enoughInputFiles || enoughContent || tooMuchContent)) continue
      groups.push({
        partitionKey: key,
        specId,
        partition: b[0].partition,
        files: b,
        inputBytes: bytes,
        records: b.reduce((s, f) => s + Number(f.records), 0),
        outputFiles: expectedOutputFiles(bytes, o),
      })
    }
  }
  return groups
}
