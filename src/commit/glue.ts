/**
 * AWS Glue Data Catalog as the Iceberg catalog (docs/catalogs.md), the way Java's GlueTableOperations
 * and PyIceberg's glue.py keep tables, so Athena, EMR/Spark and Trino's Glue catalog see them:
 * Glue database = namespace (one level), Glue table `Parameters` carry `table_type=ICEBERG`,
 * `metadata_location` and `previous_metadata_location`; `TableType=EXTERNAL_TABLE`.
 *
 * Commit (the shared MetastoreCatalog: load, check requirements, apply updates; then, in Java's
 * order): write the new metadata file, `GetTable` (remember `VersionId`), check Glue
 * still points at the base, then `UpdateTable` with that `VersionId`. Glue rejects a stale
 * `VersionId` with ConcurrentModificationException → CommitConflictError.
 *
 * Why the extra check on ConcurrentModificationException: the SDK retries requests whose response
 * was lost (5xx, reset). If our first UpdateTable was applied and its response lost, the retry
 * carries the now-stale VersionId and fails with ConcurrentModificationException although our
 * commit landed. Reporting a conflict would make the writer commit the same rows again, so on that
 * error we re-read the table: if it points at our new metadata file, the commit succeeded.
 */
import {
  CreateDatabaseCommand,
  CreateTableCommand,
  GetDatabasesCommand,
  GetTableCommand,
  GetTablesCommand,
  GlueClient,
  UpdateTableCommand,
  type Column,
  type Table,
  type TableInput,
} from '@aws-sdk/client-glue'
import { CommitConflictError, CommitStateUnknownError, FloeError, NoSuchTableError } from '../errors.ts'
import type { FileIO } from '../storage/file-io.ts'
import { AWS_TIMEOUTS, sdkAttempts } from '../storage/s3.ts'
import type { IcebergType, TableMetadata } from '../table/metadata.ts'
import { nextMetadataLocation, readMetadataFile, writeMetadataFile } from '../table/metadata-file.ts'
import type { LoadedTable, TableIdentifier } from '../table/catalog.ts'
import { MetastoreCatalog } from '../table/metastore.ts'

export interface GlueCatalogOptions {
  io: FileIO
  name?: string
  /** undefined: the AWS SDK default chain (AWS_REGION, profile). */
  region: string | undefined
  /** Endpoint override (VPC endpoint, or the recorded-behaviour double in tests). */
  endpoint?: string
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  /** Glue catalog id (AWS account id) when it is not the caller's own account. */
  catalogId?: string
}

const errorName = (err: unknown): string | undefined => (err as { name?: string } | undefined)?.name

/** Glue/Hive column type for an Iceberg type (informational: engines read the Iceberg schema). */
function hiveType(t: IcebergType): string {
  if (typeof t === 'object') return `map<${hiveType(t.key)},${hiveType(t.value)}>`
  const map: Record<string, string> = { long: 'bigint', timestamptz: 'timestamp', uuid: 'string' }
  return map[t] ?? t
}

function storageDescriptor(metadata: TableMetadata): TableInput['StorageDescriptor'] {
  const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id'])
  const Columns: Column[] = (schema?.fields ?? []).map((f) => ({
    Name: f.name,
    Type: hiveType(f.type),
    ...(f.doc ? { Comment: f.doc } : {}),
    Parameters: {
      'iceberg.field.id': String(f.id),
      'iceberg.field.optional': String(!f.required),
      'iceberg.field.current': 'true',
    },
  }))
  return { Location: metadata.location, Columns }
}

function isIceberg(table: Table | undefined): boolean {
  return table?.Parameters?.table_type?.toUpperCase() === 'ICEBERG'
}

export class GlueCatalog extends MetastoreCatalog {
  readonly type = 'glue' as const
  readonly name: string
  readonly #io: FileIO
  readonly #glue: GlueClient
  readonly #catalogId: string | undefined

  constructor(options: GlueCatalogOptions) {
    super(options.io)
    this.#io = options.io
    this.name = options.name ?? 'glue'
    this.#catalogId = options.catalogId
    this.#glue = new GlueClient({
      ...(options.region ? { region: options.region } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      requestHandler: AWS_TIMEOUTS,
    })
  }

  #database(namespace: string[]): string {
    if (namespace.length !== 1)
      throw new FloeError(`Glue namespaces have one level, got ${namespace.join('.')}`)
    return namespace[0]
  }

  async listNamespaces(): Promise<string[][]> {
    const out: string[][] = []
    let NextToken: string | undefined
    do {
      const r = await this.#glue.send(new GetDatabasesCommand({ CatalogId: this.#catalogId, NextToken }))
      for (const db of r.DatabaseList ?? []) out.push([db.Name!])
      NextToken = r.NextToken
    } while (NextToken)
    return out
  }

  async createNamespaceIfAbsent(namespace: string[]): Promise<void> {
    const Name = this.#database(namespace)
    try {
      await this.#glue.send(
        new CreateDatabaseCommand({ CatalogId: this.#catalogId, DatabaseInput: { Name } }),
      )
    } catch (err) {
      if (errorName(err) !== 'AlreadyExistsException') throw err
    }
  }

  async listTables(namespace: string[]): Promise<TableIdentifier[]> {
    const DatabaseName = this.#database(namespace)
    const out: TableIdentifier[] = []
    let NextToken: string | undefined
    do {
      const r = await this.#glue.send(
        new GetTablesCommand({ CatalogId: this.#catalogId, DatabaseName, NextToken }),
      )
      for (const t of r.TableList ?? [])
        if (isIceberg(t)) out.push({ namespace: [DatabaseName], name: t.Name! })
      NextToken = r.NextToken
    } while (NextToken)
    return out
  }

  async #getTable(id: TableIdentifier): Promise<Table | undefined> {
    try {
      const r = await this.#glue.send(
        new GetTableCommand({
          CatalogId: this.#catalogId,
          DatabaseName: this.#database(id.namespace),
          Name: id.name,
        }),
      )
      return r.Table
    } catch (err) {
      if (errorName(err) === 'EntityNotFoundException') return undefined
      throw err
    }
  }

  #metadataLocationOf(id: TableIdentifier, table: Table): string {
    const location = table.Parameters?.metadata_location
    if (!isIceberg(table) || !location) {
      throw new FloeError(
        `Glue table ${id.namespace.join('.')}.${id.name} exists but is not an Iceberg table`,
      )
    }
    return location
  }

  async loadTable(id: TableIdentifier): Promise<LoadedTable | undefined> {
    const table = await this.#getTable(id)
    if (!table) return undefined
    const metadataLocation = this.#metadataLocationOf(id, table)
    return { metadataLocation, metadata: await readMetadataFile(this.#io, metadataLocation) }
  }

  #tableInput(id: TableIdentifier, metadata: TableMetadata, location: string, previous?: Table): TableInput {
    const Parameters: Record<string, string> = { ...previous?.Parameters, table_type: 'ICEBERG' }
    Parameters.metadata_location = location
    if (previous?.Parameters?.metadata_location) {
      Parameters.previous_metadata_location = previous.Parameters.metadata_location
    }
    return {
      Name: id.name,
      TableType: 'EXTERNAL_TABLE',
      ...(previous?.Description ? { Description: previous.Description } : {}),
      Parameters,
      StorageDescriptor: storageDescriptor(metadata),
    }
  }

  async createTableIfAbsent(id: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable> {
    const existing = await this.loadTable(id)
    if (existing) return existing
    const location = nextMetadataLocation(metadata)
    await writeMetadataFile(this.#io, metadata, location)
    try {
      await this.#glue.send(
        new CreateTableCommand({
          CatalogId: this.#catalogId,
          DatabaseName: this.#database(id.namespace),
          TableInput: this.#tableInput(id, metadata, location),
        }),
      )
      return { metadataLocation: location, metadata }
    } catch (err) {
      if (errorName(err) !== 'AlreadyExistsException') throw err
      // Either another writer won the creation race, or our own CreateTable was applied and its
      // answer lost, so the SDK's retry met our table. Only in the first case is our file unused.
      const table = await this.#getTable(id)
      if (table && this.#metadataLocationOf(id, table) === location)
        return { metadataLocation: location, metadata }
      await this.#io.delete(location)
      const now = await this.loadTable(id)
      if (!now) throw new FloeError(`Glue table ${id.name} vanished while being created`)
      return now
    }
  }

  protected async swap(
    id: TableIdentifier,
    base: LoadedTable,
    metadata: TableMetadata,
  ): Promise<LoadedTable> {
    const location = nextMetadataLocation(metadata, base.metadataLocation)
    await writeMetadataFile(this.#io, metadata, location)
    const done = { metadataLocation: location, metadata }
    const table = await this.#getTable(id)
    if (!table) throw new NoSuchTableError(`Glue table ${id.namespace.join('.')}.${id.name} does not exist`)
    if (this.#metadataLocationOf(id, table) !== base.metadataLocation) {
      await this.#io.delete(location)
      throw new CommitConflictError(`Glue table ${id.name} moved past ${base.metadataLocation}`)
    }
    // Without a VersionId, UpdateTable would overwrite unconditionally and could drop a concurrent
    // append (PyIceberg refuses too).
    if (!table.VersionId) {
      await this.#io.delete(location)
      throw new FloeError(`Glue table ${id.name} has no VersionId; refusing an unconditional update`)
    }
    try {
      await this.#glue.send(
        new UpdateTableCommand({
          CatalogId: this.#catalogId,
          DatabaseName: this.#database(id.namespace),
          TableInput: this.#tableInput(id, metadata, location, table),
          VersionId: table.VersionId,
          // Glue would otherwise archive a table version per commit (docs aws.md: glue.skip-archive).
          SkipArchive: true,
        }),
      )
    } catch (err) {
      const name = errorName(err)
      if (name === 'ConcurrentModificationException') {
        if (await this.#landed(id, location)) return done
        await this.#io.delete(location).catch(() => {}) // never referenced: our update was refused
        throw new CommitConflictError(
          `Glue table ${id.name} was updated concurrently (VersionId ${table.VersionId})`,
        )
      }
      if (name === 'EntityNotFoundException') throw new NoSuchTableError(`Glue table ${id.name} was dropped`)
      const fault = (err as { $fault?: string }).$fault
      // A 4xx other than the above was rejected before any change, but only if it answered the
      // first attempt: after an SDK retry, an earlier attempt may have been applied with its
      // answer lost (then a throttled or refused retry says nothing about it). Settle by looking.
      if (fault === 'client' && name !== 'TimeoutError' && sdkAttempts(err) <= 1) throw err
      if (await this.#landed(id, location)) return done
      if (fault === 'client' && name !== 'TimeoutError') throw err
      throw new CommitStateUnknownError(`Glue UpdateTable for ${id.name} failed: ${String(err)}`, err)
    }
    return done
  }

  /** Whether Glue now points at `location`, our new metadata file (see the header comment). */
  async #landed(id: TableIdentifier, location: string): Promise<boolean> {
    try {
      const table = await this.#getTable(id)
      return table?.Parameters?.metadata_location === location
    } catch (err) {
      throw new CommitStateUnknownError(
        `Glue table ${id.name}: could not check whether the commit landed`,
        err,
      )
    }
  }

  async close(): Promise<void> {
    this.#glue.destroy()
  }
}
