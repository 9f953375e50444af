/**
 * Manifests clustered by partition, so their partition summaries prune (as Java's
 * `RewriteManifests.clusterBy` does): entries are sorted by their partition tuple (spec field order:
 * for Floe's tables the day, then the site) and cut into at most `maxManifests` runs, each cut
 * between two values of the first partition field. A reader asking for 30 days of one site then
 * opens only the manifests whose day range overlaps those days, instead of one manifest that spans
 * the whole table (what merging everything into one bin, or writing one manifest per compaction,
 * gives: its summary covers every day and every site, so nothing can be skipped).
 *
 * The number of manifests stays bounded by `maxManifests` per merge or compaction, a quarter of
 * `commit.manifest.min-count-to-merge` (clusterLimit), so the manifest list still stays well under
 * the merge threshold after a merge, as with Java's single merged manifest.
 */
import type { PartitionTuple, PartitionValue } from './partition.ts'

/** Manifests one merged bin or one compaction may write: a quarter of min-count-to-merge, at least 1. */
export function clusterLimit(minCountToMerge: number): number {
  return Math.max(1, Math.floor(minCountToMerge / 4))
}

/** Nulls first, then numbers/bigints by value, strings and booleans by their natural order. */
export function compareValue(a: PartitionValue, b: PartitionValue): number {
  if (a === b) return 0
  if (a === null || a === undefined) return -1
  if (b === null || b === undefined) return 1
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : 1
  if (typeof a === 'boolean' || typeof b === 'boolean') return Number(a) - Number(b)
  const x = typeof a === 'bigint' ? a : BigInt(Math.trunc(Number(a)))
  const y = typeof b === 'bigint' ? b : BigInt(Math.trunc(Number(b)))
  if (x !== y) return x < y ? -1 : 1
  // Fractions (never in a day or identity-of-int partition, but keep the order total).
  return Number(a) - Number(b)
}

export function compareTuple(a: PartitionTuple, b: PartitionTuple): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const c = compareValue(a[i] ?? null, b[i] ?? null)
    if (c !== 0) return c
  }
  return 0
}

/**
 * `items` sorted by partition and cut into at most `maxManifests` runs of roughly equal size, each
 * cut only where the first partition field changes (a value's entries are never split). A spec
 * without fields, or a limit of 1, gives one run: the unclustered behaviour.
 */
export function clusterByPartition<T>(
  items: readonly T[],
  tupleOf: (item: T) => PartitionTuple,
  maxManifests: number,
): T[][] {
  if (items.length === 0) return []
  const keyed = items.map((item) => ({ item, tuple: tupleOf(item) }))
  keyed.sort((a, b) => compareTuple(a.tuple, b.tuple))
  if (maxManifests <= 1 || keyed[0].tuple.length === 0) return [keyed.map((k) => k.item)]
  // Runs of equal first-field values, in order; then packed greedily, a run closing when the next
  // value's entries would take it past the target size.
  const groups: T[][] = []
  for (let i = 0; i < keyed.length; i++) {
    if (i === 0 || compareValue(keyed[i].tuple[0], keyed[i - 1].tuple[0]) !== 0) groups.push([])
    groups.at(-1)!.push(keyed[i].item)
  }
  const target = Math.ceil(keyed.length / maxManifests)
  const runs: T[][] = []
  let run: T[] = []
  for (const g of groups) {
    // The last run takes whatever is left, so the count never exceeds the limit.
    if (run.length > 0 && run.length + g.length > target && runs.length < maxManifests - 1) {
      runs.push(run)
      run = []
    }
    run.push(...g)
  }
  if (run.length > 0) runs.push(run)
  return runs
}
