/**
 * The identifier check in front of every catalog (`createCatalog` applies it to each type): a
 * namespace or table name that could become a path outside the warehouse is refused with
 * InvalidIdentifierError before the catalog sees it (identifier.ts).
 */
import type { Catalog, CommitOptions, LoadedTable, TableIdentifier } from '../table/catalog.ts'
import type { TableMetadata } from '../table/metadata.ts'
import type { TableRequirement } from '../table/requirements.ts'
import type { TableUpdate } from '../table/updates.ts'
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
    async commit(
      id: TableIdentifier,
      requirements: readonly TableRequirement[],
      updates: readonly TableUpdate[],
      options?: CommitOptions,
    ): Promise<LoadedTable> {
      checkIdentifier(id)
      return inner.commit(id, requirements, updates, options)
    },
    close: () => inner.close(),
  }
}
