/**
 * The shared commit of catalogs that keep a pointer to a metadata file (jdbc, glue, hadoop), as
 * pyiceberg's `MetastoreCatalog` / Java's `BaseMetastoreTableOperations` share it:
 *
 *   load current → checkRequirements → applyUpdates (+ metadata-log) → swap(write next file, CAS)
 *   → after success only: delete the metadata files the log dropped (Java's
 *     `deleteRemovedMetadataFiles`, when `write.metadata.delete-after-commit.enabled=true`).
 *
 * A subclass implements only `swap`: make `metadata` current if the table still points at
 * `base.metadataLocation` — write the next metadata file and compare-and-swap the pointer —
 * throwing CommitConflictError when another writer moved first and CommitStateUnknownError when
 * it cannot tell. It may override `loadForCommit` to check the pointer cheaply and reuse the
 * caller's already-parsed base.
 */
import { NoSuchTableError } from '../errors.ts'
import type { FileIO } from '../storage/file-io.ts'
import type { Catalog, CatalogType, CommitOptions, LoadedTable, TableIdentifier } from './catalog.ts'
import type { TableMetadata } from './metadata.ts'
import { checkRequirements, type TableRequirement } from './requirements.ts'
import { applyUpdates, type TableUpdate } from './updates.ts'

/** Java's default of `write.metadata.delete-after-commit.enabled`. */
export const DELETE_AFTER_COMMIT_DEFAULT = false

/**
 * Metadata files `base` listed in its log (or was: `baseLocation`) that `next` no longer lists,
 * when `next` has `write.metadata.delete-after-commit.enabled=true`. The base file itself stays:
 * it is in `next`'s log.
 */
export function droppedMetadataFiles(base: TableMetadata, next: TableMetadata): string[] {
  const enabled =
    next.properties?.['write.metadata.delete-after-commit.enabled'] ?? String(DELETE_AFTER_COMMIT_DEFAULT)
  if (enabled.toLowerCase() !== 'true') return []
  const kept = new Set((next['metadata-log'] ?? []).map((e) => e['metadata-file']))
  return (base['metadata-log'] ?? []).map((e) => e['metadata-file']).filter((f) => !kept.has(f))
}

export abstract class MetastoreCatalog implements Catalog {
  abstract readonly type: CatalogType
  abstract readonly name: string
  /** Called with what a commit's clean-up could not delete (best effort; default: ignored). */
  onCleanupError?: (uri: string, err: unknown) => void

  constructor(protected readonly io: FileIO) {}

  abstract listNamespaces(): Promise<string[][]>
  abstract createNamespaceIfAbsent(namespace: string[]): Promise<void>
  abstract listTables(namespace: string[]): Promise<TableIdentifier[]>
  abstract loadTable(id: TableIdentifier): Promise<LoadedTable | undefined>
  abstract createTableIfAbsent(id: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable>
  abstract close(): Promise<void>

  /**
   * Make `metadata` the table's current metadata if the table still points at
   * `base.metadataLocation`. Returns the new location and metadata.
   */
  protected abstract swap(
    id: TableIdentifier,
    base: LoadedTable,
    metadata: TableMetadata,
  ): Promise<LoadedTable>

  /** The table as it is now; `hint` may be returned when the pointer still names its file. */
  protected async loadForCommit(id: TableIdentifier, _hint?: LoadedTable): Promise<LoadedTable | undefined> {
    return this.loadTable(id)
  }

  async commit(
    id: TableIdentifier,
    requirements: readonly TableRequirement[],
    updates: readonly TableUpdate[],
    options: CommitOptions = {},
  ): Promise<LoadedTable> {
    const base = await this.loadForCommit(id, options.base)
    if (base === undefined)
      throw new NoSuchTableError(
        `${[...id.namespace, id.name].join('.')} does not exist in catalog ${this.name}`,
      )
    checkRequirements(base.metadata, requirements)
    const metadata = applyUpdates(base.metadata, updates, { previousMetadataLocation: base.metadataLocation })
    const committed = await this.swap(id, base, metadata)
    // Only now, after a definite success: a file the log dropped may still be current if the swap
    // failed or its outcome is unknown.
    await Promise.all(
      droppedMetadataFiles(base.metadata, committed.metadata).map((uri) =>
        this.io.delete(uri).catch((err: unknown) => this.onCleanupError?.(uri, err)),
      ),
    )
    return committed
  }
}
