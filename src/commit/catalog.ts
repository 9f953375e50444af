/**
 * The catalog boundary: catalogs only move pointers. Retry logic (reload, rebuild the manifest list
 * on the new parent, try again) lives once above them, in `src/write/append.ts`.
 *
 * Implementations: `jdbc.ts` (Iceberg Java JdbcCatalog layout in Postgres/PGlite), `rest.ts`
 * (Iceberg REST protocol client), `hadoop.ts` (file-system tables), `glue.ts` (AWS Glue).
 */
import type { TableMetadata } from '../write/metadata.ts'

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

/**
 * What a commit carries. Pointer catalogs (jdbc, hadoop, glue) write `metadata` as the next
 * metadata file and swap the pointer; the REST catalog sends requirements + updates built from
 * `base` and `snapshot` and lets the server write the file.
 */
export interface AppendCommit {
  base: LoadedTable
  /** The full next metadata (base + snapshot + refs + logs), already built by `src/write/`. */
  metadata: TableMetadata
  /** The snapshot this commit adds (also present in `metadata.snapshots`). */
  snapshotId: bigint
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
   * Atomically make `commit.metadata` current if the table still points at `commit.base`.
   * Throws CommitConflictError when it does not, CommitStateUnknownError when it cannot tell.
   */
  commitAppend(id: TableIdentifier, commit: AppendCommit): Promise<LoadedTable>
  close(): Promise<void>
}
