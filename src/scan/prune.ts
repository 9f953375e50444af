/**
 * Partition pruning for reads: which manifests and data files of a snapshot can hold rows of a
 * time range and a set of values of one column. The rule is Iceberg's (Java `ManifestEvaluator` on
 * the manifest list's partition summaries, then `Evaluator` on each file's partition tuple),
 * reduced to the two predicates the query layer needs:
 *
 * - `day(column)` between two days (inclusive), for a `day` partition field on `column`;
 * - `column IN (values)`, for an `identity` partition field on `column`.
 *
 * Partition fields with other transforms, or on other columns, never prune (the file is kept), so
 * tables whose spec evolved, or that another engine partitioned differently, are still read whole
 * rather than wrongly. Pruning is only ever conservative: what it keeps is filtered again by the
 * query itself.
 */
import type { IcebergSchema, PartitionSpec, TableMetadata } from '../table/metadata.ts'
import type { FieldSummary, ManifestFile } from '../write/manifest-list.ts'

export interface PartitionPredicate {
  /** Keep rows whose `dayColumn` falls on these days (days since 1970-01-01, inclusive). */
  days?: { column: string; from: number; to: number }
  /** Keep rows whose `column` is one of `values`. */
  values?: { column: string; in: ReadonlySet<string> }
}

interface BoundField {
  /** The partition field's name: the key of the partition record in manifests. */
  name: string
  test: 'days' | 'values' | undefined
}

/** For each partition spec of the table: which of its fields the predicate can test. */
export function bindPredicate(
  metadata: Pick<TableMetadata, 'partition-specs' | 'schemas' | 'current-schema-id'>,
  predicate: PartitionPredicate,
): Map<number, BoundField[]> {
  const out = new Map<number, BoundField[]>()
  const fieldsById = new Map<number, string>()
  for (const s of metadata.schemas as IcebergSchema[]) for (const f of s.fields) fieldsById.set(f.id, f.name)
  for (const spec of metadata['partition-specs'] as PartitionSpec[]) {
    out.set(
      spec['spec-id'],
      spec.fields.map((pf) => {
        const source = fieldsById.get(pf['source-id'])
        let test: BoundField['test']
        if (pf.transform === 'day' && source === predicate.days?.column) test = 'days'
        else if (pf.transform === 'identity' && source === predicate.values?.column) test = 'values'
        return { name: pf.name, test }
      }),
    )
  }
  return out
}

/** Decodes a summary bound (Iceberg's single-value binary encoding) of a `date` or `string` value. */
function decode(test: 'days' | 'values', bound: Buffer | Uint8Array): number | string {
  const b = Buffer.from(bound.buffer, bound.byteOffset, bound.byteLength)
  return test === 'days' ? b.readInt32LE(0) : b.toString('utf8')
}

function summaryMayMatch(test: 'days' | 'values', s: FieldSummary, p: PartitionPredicate): boolean {
  if (!s.lower_bound || !s.upper_bound) return s.contains_null // only nulls (or no bounds): null never matches
  if (test === 'days') {
    const lo = decode(test, s.lower_bound) as number
    const hi = decode(test, s.upper_bound) as number
    return hi >= p.days!.from && lo <= p.days!.to
  }
  const lo = decode(test, s.lower_bound) as string
  const hi = decode(test, s.upper_bound) as string
  // Byte order of UTF-8 is what the writer used for the bounds (Buffer.compare).
  for (const v of p.values!.in)
    if (
      Buffer.compare(Buffer.from(v), Buffer.from(lo)) >= 0 &&
      Buffer.compare(Buffer.from(v), Buffer.from(hi)) <= 0
    )
      return true
  return false
}

/** False when the manifest's partition summaries prove it holds no matching file. */
export function manifestMayMatch(
  bound: Map<number, BoundField[]>,
  manifest: ManifestFile,
  predicate: PartitionPredicate,
): boolean {
  const fields = bound.get(manifest.partition_spec_id)
  if (!fields || !manifest.partitions) return true
  return fields.every((f, i) => {
    const s = manifest.partitions![i]
    return !f.test || !s || summaryMayMatch(f.test, s, predicate)
  })
}

/** False when the file's partition tuple proves it holds no matching row. */
export function partitionMayMatch(
  bound: Map<number, BoundField[]>,
  specId: number,
  partition: Record<string, unknown>,
  predicate: PartitionPredicate,
): boolean {
  const fields = bound.get(specId)
  if (!fields) return true
  return fields.every((f) => {
    if (!f.test) return true
    const v = partition[f.name]
    if (v === null || v === undefined) return false
    if (f.test === 'days') {
      const day = Number(v)
      return day >= predicate.days!.from && day <= predicate.days!.to
    }
    return predicate.values!.in.has(String(v))
  })
}
