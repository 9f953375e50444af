/**
 * InMemoryTestCatalog: a pointer catalog for unit tests of the append retry loop. Table pointers
 * live in a Map (no Postgres); it is a MetastoreCatalog like jdbc/glue/hadoop, so requirements and
 * updates go through the real commit core, and metadata files are real files written through the
 * given FileIO with `writeMetadataFile`, exactly as the JDBC catalog does. The real JDBC catalog
 * is tested in test/write/append-*.test.ts and test/commit/.
 *
 * Fault injection: `beforeCommit` runs at the start of every swap (after the commit core loaded
 * the table and checked the requirements) and may make another writer win (via `swapTo` of a
 * foreign metadata) or return 'unknown-applied' / 'unknown-lost' to simulate a lost connection
 * after / before the pointer swap.
 */
import { CommitConflictError, CommitStateUnknownError, NoSuchTableError } from '../../../src/errors.ts'
import type { LoadedTable, TableIdentifier } from '../../../src/table/catalog.ts'
import type { FileIO } from '../../../src/storage/file-io.ts'
import type { TableMetadata } from '../../../src/table/metadata.ts'
import { MetastoreCatalog } from '../../../src/table/metastore.ts'
import {
  nextMetadataLocation,
  readMetadataFile,
  writeMetadataFile,
} from '../../../src/table/metadata-file.ts'

export type CommitFault = 'unknown-applied' | 'unknown-lost' | undefined

/** What a swap is asked to do: make `metadata` current if the table still points at `base`. */
export interface SwapRequest {
  base: LoadedTable
  metadata: TableMetadata
}

const key = (id: TableIdentifier) => [...id.namespace, id.name].join('.')

export class InMemoryTestCatalog extends MetastoreCatalog {
  readonly type = 'jdbc' as const
  readonly name = 'in-memory-test'
  readonly pointers = new Map<string, string>()
  readonly namespaces = new Set<string>()
  commits = 0
  conflicts = 0
  beforeCommit?: (id: TableIdentifier, commit: SwapRequest, n: number) => Promise<CommitFault> | CommitFault

  constructor(io: FileIO) {
    super(io)
  }

  async listNamespaces(): Promise<string[][]> {
    return [...this.namespaces].map((n) => n.split('.'))
  }
  async createNamespaceIfAbsent(namespace: string[]): Promise<void> {
    this.namespaces.add(namespace.join('.'))
  }
  async listTables(namespace: string[]): Promise<TableIdentifier[]> {
    const prefix = namespace.join('.') + '.'
    return [...this.pointers.keys()]
      .filter((k) => k.startsWith(prefix))
      .map((k) => ({ namespace, name: k.slice(prefix.length) }))
  }
  async loadTable(id: TableIdentifier): Promise<LoadedTable | undefined> {
    const loc = this.pointers.get(key(id))
    return loc === undefined
      ? undefined
      : { metadataLocation: loc, metadata: await readMetadataFile(this.io, loc) }
  }
  async createTableIfAbsent(id: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable> {
    const existing = await this.loadTable(id)
    if (existing) return existing
    const loc = nextMetadataLocation(metadata)
    await writeMetadataFile(this.io, metadata, loc)
    this.pointers.set(key(id), loc)
    return { metadataLocation: loc, metadata }
  }
  /** The swap itself, without fault injection (also used by tests to play "another writer"). */
  async swapTo(id: TableIdentifier, commit: SwapRequest): Promise<LoadedTable> {
    const current = this.pointers.get(key(id))
    if (current === undefined) throw new NoSuchTableError(key(id))
    if (current !== commit.base.metadataLocation) {
      this.conflicts++
      throw new CommitConflictError(`${key(id)} moved`)
    }
    const loc = nextMetadataLocation(commit.metadata, current)
    await writeMetadataFile(this.io, commit.metadata, loc)
    this.pointers.set(key(id), loc)
    this.commits++
    return { metadataLocation: loc, metadata: commit.metadata }
  }
  protected async swap(
    id: TableIdentifier,
    base: LoadedTable,
    metadata: TableMetadata,
  ): Promise<LoadedTable> {
    const fault = await this.beforeCommit?.(id, { base, metadata }, this.commits + this.conflicts)
    if (fault === 'unknown-lost') throw new CommitStateUnknownError('connection lost before the swap')
    const loaded = await this.swapTo(id, { base, metadata })
    if (fault === 'unknown-applied') throw new CommitStateUnknownError('connection lost after the swap')
    return loaded
  }
  async close(): Promise<void> {}
}
