/**
 * The catalog boundary: a catalog stores tables and commits `requirements + updates` to one of them
 * (the Iceberg REST spec's `CommitTableRequest`). What a commit means is decided once, in this
 * folder (`requirements.ts`, `updates.ts`); catalogs only find the current metadata and swap it.
 *
 * Implementations (in `src/commit/`): `jdbc.ts`, `glue.ts` and `hadoop.ts` extend
 * `MetastoreCatalog` (`metastore.ts`: load → check → apply → write the next metadata file → swap);
 * `rest.ts` sends requirements and updates as they are and lets the server apply them.
 */
import type { TableMetadata } from './metadata.ts'
import type { TableRequirement } from './requirements.ts'
import type { TableUpdate } from './updates.ts'

export type CatalogType = 'jdbc' | 'rest' | 'hadoop' | 'glue'

export interface TableIdentifier {
  /** Namespace levels, e.g. `['analytics']`. */
  namespace: string[]
  name: string
}

export interface LoadedTable {
  /** Full URI of the current metadata JSON. */
  metadataLocation: string
  metadata: TableMetadata
}

export interface CommitOptions {
  /**
   * The table as the caller loaded it. Metastore catalogs reuse it instead of re-reading the
   * metadata file when the pointer has not moved (the check is still against the pointer).
   */
  base?: LoadedTable
}

export interface Catalog {
  readonly type: CatalogType
  readonly name: string
  listNamespaces(): Promise<string[][]>
  createNamespaceIfAbsent(namespace: string[]): Promise<void>
  listTables(namespace: string[]): Promise<TableIdentifier[]>
  /** `undefined` when the table does not exist. */
  loadTable(id: TableIdentifier): Promise<LoadedTable | undefined>
  /**
   * Create the table with this initial metadata unless it exists; returns whatever is current
   * afterwards (so concurrent creators converge on one table).
   */
  createTableIfAbsent(id: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable>
  /**
   * Atomically apply `updates` to the table if every requirement holds on its current metadata.
   * Throws CommitConflictError when one does not (or another writer swapped first),
   * CommitStateUnknownError when the outcome cannot be told, NoSuchTableError,
   * InvalidCommitError / UnsupportedUpdateError for updates that cannot apply.
   */
  commit(
    id: TableIdentifier,
    requirements: readonly TableRequirement[],
    updates: readonly TableUpdate[],
    options?: CommitOptions,
  ): Promise<LoadedTable>
  close(): Promise<void>
}
