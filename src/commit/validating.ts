/**
 * The identifier check in front of every catalog (`createCatalog` applies it to each type): a
 * namespace or table name that could become a path outside the warehouse is refused with
 * InvalidIdentifierError before the catalog sees it (identifier.ts).
 */
import type { AppendCommit, Catalog, LoadedTable, TableIdentifier } from './catalog.ts'
import type { TableMetadata } from '../write/metadata.ts'
import { checkIdentifier, checkNamespace } from './identifier.ts'

export function validatingCatalog(inner: Catalog): Catalog {
  return {
    type: inner.type,
    name: inner.name,
    listNamespaces: () => inner.listNamespaces(),
    async createNamespaceIfAbsent(namespace: string[]): Promise<void> {
      checkNamespace(namespace)
      return inner.createNamespaceIfAbsent(namespace)
    },
    async listTables(namespace: string[]): Promise<TableIdentifier[]> {
      checkNamespace(namespace)
      return inner.listTables(namespace)
    },
    async loadTable(id: TableIdentifier): Promise<LoadedTable | undefined> {
      checkIdentifier(id)
      return inner.loadTable(id)
    },
    async createTableIfAbsent(id: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable> {
      checkIdentifier(id)
      return inner.createTableIfAbsent(id, metadata)
    },
    async commitAppend(id: TableIdentifier, commit: AppendCommit): Promise<LoadedTable> {
      checkIdentifier(id)
      return inner.commitAppend(id, commit)
    },
    close: () => inner.close(),
  }
}
