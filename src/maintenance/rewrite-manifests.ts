/**
 * Rewrite a table's data manifests clustered by partition (Java's `RewriteManifests` with
 * `clusterBy` the first partition field, Spark's `rewrite_manifests`): every live entry is carried
 * as EXISTING, with its snapshot id and sequence numbers, into at most `clusterLimit` manifests
 * per partition spec, each covering a narrow range of days (`src/write/manifest-cluster.ts`). No
 * data file is added or removed; the commit is a `replace` snapshot whose totals are the parent's.
 *
 * For tables whose manifests were written before merging and compaction clustered them (one
 * manifest spanning every day and site, which readers cannot prune), and for the reporting bench.
 */
import { randomUUID } from 'node:crypto'
import type { Catalog, TableIdentifier } from '../table/catalog.ts'
import type { FileIO } from '../storage/file-io.ts'
import type { Snapshot } from '../table/metadata.ts'
import { currentSchema, currentSnapshot } from '../table/metadata.ts'
import { metadataDir } from '../table/metadata-file.ts'
import { parseManifestList, writeManifestList, type ManifestFile } from '../write/manifest-list.ts'
import { mergeBin, mergePolicy } from '../write/manifest-merge.ts'
import { findSnapshotByCommitId, newSnapshotId } from '../write/snapshot.ts'
import { addSnapshotUpdates, commitWithRetry, mainBranchRequirements } from '../table/index.ts'
import { NoSuchTableError } from '../errors.ts'

export interface RewriteManifestsResult {
  skipped?: string
  manifestsReplaced: number
  manifestsCreated: number
  snapshotId?: string
}

const TOTALS = [
  'total-records',
  'total-files-size',
  'total-data-files',
  'total-delete-files',
  'total-position-deletes',
  'total-equality-deletes',
]

export async function rewriteManifests(o: {
  io: FileIO
  catalog: Catalog
  id: TableIdentifier
}): Promise<RewriteManifestsResult> {
  const { io, catalog, id } = o
  const base = await catalog.loadTable(id)
  if (!base) throw new NoSuchTableError(`table ${[...id.namespace, id.name].join('.')} does not exist`)
  if (!currentSnapshot(base.metadata))
    return { skipped: 'the table has no snapshot', manifestsReplaced: 0, manifestsCreated: 0 }
  const commitId = randomUUID()
  const snapshotId = newSnapshotId()
  let replaced = 0
  let created = 0
  const { attempts } = await commitWithRetry({
    catalog,
    id,
    io,
    base,
    build: async (loaded, attempt) => {
      const meta = loaded.metadata
      const parent = currentSnapshot(meta)!
      const seq = meta['last-sequence-number'] + 1n
      const dir = metadataDir(meta)
      const listed = parseManifestList(await io.read(parent['manifest-list']))
      const written: string[] = []
      const kept: ManifestFile[] = []
      const bySpec = new Map<number, ManifestFile[]>()
      for (const m of listed) {
        if (m.content !== 0) kept.push(m)
        else bySpec.set(m.partition_spec_id, [...(bySpec.get(m.partition_spec_id) ?? []), m])
      }
      const rewritten: ManifestFile[] = []
      replaced = 0
      try {
        for (const bin of bySpec.values()) {
          const out = await mergeBin(
            {
              io,
              policy: mergePolicy(meta.properties),
              snapshotId,
              sequenceNumber: seq,
              schema: currentSchema(meta),
              specs: meta['partition-specs'],
              newPath: (n) => `${dir}/${commitId}-r${attempt}-${n}.avro`,
            },
            bin,
            written.length + 1,
          )
          written.push(...out.map((m) => m.manifest_path))
          rewritten.push(...out)
          replaced += bin.length
        }
        created = rewritten.length
        const listPath = `${dir}/snap-${snapshotId}-${attempt}-${commitId}.avro`
        await io.write(
          listPath,
          writeManifestList({
            snapshotId,
            parentSnapshotId: parent['snapshot-id'],
            sequenceNumber: seq,
            manifests: [...rewritten, ...kept],
          }),
        )
        written.push(listPath)
      } catch (err) {
        await Promise.allSettled(written.map((u) => io.delete(u)))
        throw err
      }
      const summary: Record<string, string> = {
        operation: 'replace',
        'floe.commit-id': commitId,
        'floe.maintenance': 'rewrite-manifests',
        'manifests-created': String(created),
        'manifests-kept': String(kept.length),
        'manifests-replaced': String(replaced),
      }
      for (const k of TOTALS) if (parent.summary?.[k] !== undefined) summary[k] = parent.summary[k]
      const nowMs = BigInt(Date.now())
      const snapshot: Snapshot = {
        'sequence-number': seq,
        'snapshot-id': snapshotId,
        'parent-snapshot-id': parent['snapshot-id'],
        'timestamp-ms': nowMs > meta['last-updated-ms'] ? nowMs : meta['last-updated-ms'] + 1n,
        summary,
        'manifest-list': written.at(-1)!,
        'schema-id': meta['current-schema-id'],
      }
      return {
        requirements: mainBranchRequirements(meta),
        updates: addSnapshotUpdates(snapshot),
        attemptFiles: written,
      }
    },
    landed: (md) => findSnapshotByCommitId(md, commitId) !== undefined,
  })
  void attempts
  return { manifestsReplaced: replaced, manifestsCreated: created, snapshotId: snapshotId.toString() }
}
