/**
 * InMemoryTestCatalog: a pointer catalog for unit tests of the append retry loop. Table pointers
 * live in a Map (no Postgres); metadata files are real files written through the given FileIO with
 * `writeMetadataFile`, exactly as the JDBC catalog does. The real JDBC catalog is tested in
 * test/write/append-*.test.ts and test/commit/.
 *
 * Fault injection: `beforeCommit` runs at the start of every commitAppend and may make another
 * writer win (via `commitAppend` of a foreign metadata) or return 'unknown-applied' /
 * 'unknown-lost' to simulate a lost connection after / before the pointer swap.
 */
import { CommitConflictError, CommitStateUnknownError, NoSuchTableError } from '../../../src/errors.ts'
import type { AppendCommit, Catalog, LoadedTable, TableIdentifier } from '../../../src/commit/catalog.ts'
import type { FileIO } from '../../../src/storage/file-io.ts'
import type { TableMetadata } from '../../../src/write/metadata.ts'
import {
  nextMetadataLocation,
  readMetadataFile,
  writeMetadataFile,
} from '../../../src/write/metadata-file.ts'

export type CommitFault = 'unknown-applied' | 'unknown-lost' | undefined

const key = (id: TableIdentifier) => [...id.namespace, id.name].join('.')

export class InMemoryTestCatalog implements Catalog {
  readonly type = 'jdbc' as const
  readonly name = 'in-memory-test'
  readonly pointers = new Map<string, string>()
  readonly namespaces = new Set<string>()
  commits = 0
  conflicts = 0
  beforeCommit?: (id: TableIdentifier, commit: AppendCommit, n: number) => Promise<CommitFault> | CommitFault

  constructor(private readonly io: FileIO) {}

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
  async swap(id: TableIdentifier, commit: AppendCommit): Promise<LoadedTable> {
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
  async commitAppend(id: TableIdentifier, commit: AppendCommit): Promise<LoadedTable> {
    const fault = await this.beforeCommit?.(id, commit, this.commits + this.conflicts)
    if (fault === 'unknown-lost') throw new CommitStateUnknownError('connection lost before the swap')
    const loaded = await this.swap(id, commit)
    if (fault === 'unknown-applied') throw new CommitStateUnknownError('connection lost after the swap')
    return loaded
  }
  async close(): Promise<void> {}
}
