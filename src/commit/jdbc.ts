/**
 * Iceberg's JDBC catalog in PostgreSQL (or the embedded SQLite file, or PGlite), with exactly Iceberg Java's V1 tables and SQL
 * (`JdbcUtil.java`, docs/catalogs.md), so Trino, Spark and PyIceberg pointed at the same database and
 * `catalog_name` see and can commit to the same tables. Only `?` became `$n`; spacing is Java's.
 *
 * Commit (the shared MetastoreCatalog: load, check requirements, apply updates) = write the next
 * `NNNNN-<uuid>.metadata.json`, then one compare-and-swap UPDATE on
 * `metadata_location`: 1 row = this writer won, 0 rows = another writer moved the table first.
 * Postgres runs the single UPDATE atomically under the row lock, so of concurrent committers on the
 * same base exactly one sees 1 row, whichever engine they are; SQLite runs it under its single
 * write lock, to the same effect.
 */
import { readFileSync } from 'node:fs'
import { CommitConflictError, CommitStateUnknownError, ConfigError, NoSuchTableError } from '../errors.ts'
import type { FileIO } from '../storage/file-io.ts'
import type { SqlClient } from '../storage/sql.ts'
import { DDL_LOCK_KEY } from '../storage/ddl.ts'
import type { TableMetadata } from '../table/metadata.ts'
import { nextMetadataLocation, readMetadataFile, writeMetadataFile } from '../table/metadata-file.ts'
import type { LoadedTable, TableIdentifier } from '../table/catalog.ts'
import { MetastoreCatalog } from '../table/metastore.ts'
import { checkIdentifier, locationUnder } from './identifier.ts'

const DDL_FILE = new URL('../../catalog/jdbc-catalog.sql', import.meta.url)

/** Statements of `catalog/jdbc-catalog.sql` (the one copy of the DDL). */
export function catalogDdl(): string[] {
  return readFileSync(DDL_FILE, 'utf8')
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean)
}

// JdbcUtil's SQL, `?` → `$n`.
const V1_GET_TABLE_SQL =
  "SELECT * FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3 AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)"
const V1_LIST_TABLE_SQL =
  "SELECT * FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)"
const V1_DO_COMMIT_CREATE_SQL =
  'INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location, iceberg_type)  VALUES ($1,$2,$3,$4,null,$5)'
const V1_DO_COMMIT_TABLE_SQL =
  "UPDATE iceberg_tables SET metadata_location = $1 , previous_metadata_location = $2 WHERE catalog_name = $3 AND table_namespace = $4 AND table_name = $5 AND metadata_location = $6 AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)"
const GET_NAMESPACE_SQL =
  "SELECT table_namespace FROM iceberg_tables WHERE catalog_name = $1 AND  (table_namespace = $2 OR table_namespace LIKE $3 ESCAPE '!') LIMIT 1"
const GET_NAMESPACE_PROPERTIES_SQL =
  "SELECT namespace FROM iceberg_namespace_properties WHERE catalog_name = $1 AND  ( namespace = $2 OR namespace LIKE $3 ESCAPE '!'  ) "
const INSERT_NAMESPACE_PROPERTIES_SQL =
  'INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value) VALUES ($1,$2,$3,$4)'
const LIST_ALL_NAMESPACES_SQL = 'SELECT DISTINCT table_namespace FROM iceberg_tables WHERE catalog_name = $1'
const LIST_ALL_PROPERTY_NAMESPACES_SQL =
  'SELECT DISTINCT namespace FROM iceberg_namespace_properties WHERE catalog_name = $1'

export interface JdbcCatalogOptions {
  sql: SqlClient
  /** Reads and writes the metadata JSON files (local folder or S3). */
  io: FileIO
  /** `catalog_name` column value; every engine sharing the tables must use the same string. */
  name: string
  /** Run `catalog/jdbc-catalog.sql` on first use (default true; Java's `jdbc.init-catalog-tables`). */
  initializeCatalogTables?: boolean
}

interface TableRow {
  metadata_location: string | null
}

/** Namespace levels ↔ the `table_namespace` string: levels joined by '.', as Java/PyIceberg/Trino. */
export function namespaceToString(namespace: string[]): string {
  return namespace.join('.')
}

export function stringToNamespace(namespace: string): string[] {
  return namespace.split('.')
}

/** Java's LIKE pattern for "this namespace or a child of it": escape `! _ %` with `!`, add `.%`. */
function childPattern(ns: string): string {
  return ns.replace(/[!_%]/g, (c) => '!' + c) + '.%'
}

/**
 * Java's default table location (`<warehouse>/<ns levels joined by '/'>/<table>`), for callers that
 * build a new table's metadata.
 */
export function defaultTableLocation(warehouse: string, id: TableIdentifier): string {
  checkIdentifier(id)
  return locationUnder(warehouse, [...id.namespace, id.name])
}

const SQLSTATE = /^[0-9A-Z]{5}$/
/** Socket errors raised while opening a connection: the statement was never sent. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

/**
 * Was the UPDATE certainly not applied? True when the server answered it with an error, or when no
 * connection could be opened. Other failures (socket reset or timeout mid-statement, the
 * connection/shutdown classes 08 and 57P) leave it unknown whether the UPDATE committed.
 */
function certainlyNotApplied(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  if (typeof code !== 'string') return false
  if (NOT_SENT.has(code)) return true
  return SQLSTATE.test(code) && !code.startsWith('08') && !code.startsWith('57P')
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === '23505'
}

export class JdbcCatalog extends MetastoreCatalog {
  readonly type = 'jdbc' as const
  readonly name: string
  readonly #sql: SqlClient
  readonly #io: FileIO
  readonly #init: boolean
  #ready: Promise<void> | undefined

  constructor(options: JdbcCatalogOptions) {
    super(options.io)
    if (options.name === '') throw new ConfigError('ICEBERG_CATALOG_NAME', 'must not be empty')
    this.name = options.name
    this.#sql = options.sql
    this.#io = options.io
    this.#init = options.initializeCatalogTables ?? true
  }

  /** Creates the catalog tables if missing (idempotent; also run lazily by every other method). */
  initialize(): Promise<void> {
    this.#ready ??= this.#createTables().catch((err: unknown) => {
      this.#ready = undefined // let the next call try again (e.g. database was still starting)
      throw err
    })
    return this.#ready
  }

  async #createTables(): Promise<void> {
    if (!this.#init) return
    const { dialect } = this.#sql
    await this.#sql.transaction(async (tx) => {
      if (dialect.ddlLock) await tx.query(dialect.ddlLock, [DDL_LOCK_KEY])
      for (const stmt of catalogDdl()) {
        // ALTER needs table ownership even with IF NOT EXISTS; tables made by another role (a DBA,
        // Trino's admin) usually have the column already, so only alter when it is missing (SQLite
        // has no IF NOT EXISTS for columns at all).
        if (
          /^ALTER TABLE/i.test(stmt) &&
          (await tx.query(dialect.columnExists('iceberg_tables', 'iceberg_type'))).rows.length > 0
        )
          continue
        await tx.query(dialect.ddl(stmt))
      }
    })
  }

  async listNamespaces(): Promise<string[][]> {
    await this.initialize()
    const a = await this.#sql.query<{ table_namespace: string }>(LIST_ALL_NAMESPACES_SQL, [this.name])
    const b = await this.#sql.query<{ namespace: string }>(LIST_ALL_PROPERTY_NAMESPACES_SQL, [this.name])
    const all = new Set([...a.rows.map((r) => r.table_namespace), ...b.rows.map((r) => r.namespace)])
    return [...all].sort().map(stringToNamespace)
  }

  /** Java's `namespaceExists`: any table row or property row for it or a child namespace. */
  async namespaceExists(namespace: string[]): Promise<boolean> {
    await this.initialize()
    const ns = namespaceToString(namespace)
    const params = [this.name, ns, childPattern(ns)]
    if ((await this.#sql.query(GET_NAMESPACE_SQL, params)).rows.length > 0) return true
    return (await this.#sql.query(GET_NAMESPACE_PROPERTIES_SQL, params)).rows.length > 0
  }

  /** Like Java's `createNamespace` with no properties: one row `('exists', 'true')`. */
  async createNamespaceIfAbsent(namespace: string[]): Promise<void> {
    if (namespace.length === 0 || namespace.some((l) => l === '' || l.includes('.')))
      throw new ConfigError(
        'ICEBERG_NAMESPACE',
        `invalid namespace ${JSON.stringify(namespace)}: levels must be non-empty and without '.'`,
      )
    if (await this.namespaceExists(namespace)) return
    try {
      await this.#sql.query(INSERT_NAMESPACE_PROPERTIES_SQL, [
        this.name,
        namespaceToString(namespace),
        'exists',
        'true',
      ])
    } catch (err) {
      if (!isUniqueViolation(err)) throw err // a concurrent creator won: same outcome
    }
  }

  async listTables(namespace: string[]): Promise<TableIdentifier[]> {
    await this.initialize()
    const res = await this.#sql.query<{ table_name: string }>(V1_LIST_TABLE_SQL, [
      this.name,
      namespaceToString(namespace),
    ])
    return res.rows
      .map((r) => ({ namespace: [...namespace], name: r.table_name }))
      .sort((x, y) => (x.name < y.name ? -1 : 1))
  }

  /** The current `metadata_location` pointer, without reading the file. */
  async currentMetadataLocation(id: TableIdentifier): Promise<string | undefined> {
    await this.initialize()
    const res = await this.#sql.query<TableRow>(V1_GET_TABLE_SQL, [
      this.name,
      namespaceToString(id.namespace),
      id.name,
    ])
    return res.rows[0]?.metadata_location ?? undefined
  }

  async loadTable(id: TableIdentifier): Promise<LoadedTable | undefined> {
    const metadataLocation = await this.currentMetadataLocation(id)
    if (metadataLocation === undefined) return undefined
    return { metadataLocation, metadata: await readMetadataFile(this.#io, metadataLocation) }
  }

  /**
   * Writes `<location>/metadata/00000-<uuid>.metadata.json`, then INSERTs the row. A concurrent
   * creator's INSERT makes ours a unique violation: drop our unreferenced file and load theirs.
   */
  async createTableIfAbsent(id: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable> {
    const existing = await this.loadTable(id)
    if (existing) return existing
    const location = nextMetadataLocation(metadata)
    await writeMetadataFile(this.#io, metadata, location)
    try {
      await this.#sql.query(V1_DO_COMMIT_CREATE_SQL, [
        this.name,
        namespaceToString(id.namespace),
        id.name,
        location,
        'TABLE',
      ])
    } catch (err) {
      if (!isUniqueViolation(err)) throw err
      await this.#io.delete(location)
      const winner = await this.loadTable(id)
      if (!winner) throw new NoSuchTableError(`${this.#display(id)} was created and dropped concurrently`)
      return winner
    }
    return { metadataLocation: location, metadata }
  }

  /** One cheap pointer query; the caller's parsed base is reused while the pointer names it. */
  protected override async loadForCommit(
    id: TableIdentifier,
    hint?: LoadedTable,
  ): Promise<LoadedTable | undefined> {
    const metadataLocation = await this.currentMetadataLocation(id)
    if (metadataLocation === undefined) return undefined
    if (hint?.metadataLocation === metadataLocation) return hint
    return { metadataLocation, metadata: await readMetadataFile(this.#io, metadataLocation) }
  }

  protected async swap(
    id: TableIdentifier,
    loaded: LoadedTable,
    metadata: TableMetadata,
  ): Promise<LoadedTable> {
    await this.initialize()
    const base = loaded.metadataLocation
    const location = nextMetadataLocation(metadata, base)
    // Written before the swap and never referenced if the swap fails, so a failure here or below
    // cannot leave the table half-committed.
    await writeMetadataFile(this.#io, metadata, location)
    const ns = namespaceToString(id.namespace)
    let rowCount: number
    try {
      rowCount = (
        await this.#sql.query(V1_DO_COMMIT_TABLE_SQL, [location, base, this.name, ns, id.name, base])
      ).rowCount
    } catch (err) {
      if (certainlyNotApplied(err)) {
        await this.#io.delete(location).catch(() => {})
        throw err
      }
      // The UPDATE may have committed before the connection broke: keep the file (it may be
      // current now) and let the caller reload and look for its snapshot.
      throw new CommitStateUnknownError(`commit of ${this.#display(id)} to ${location}: outcome unknown`, err)
    }
    if (rowCount === 1) return { metadataLocation: location, metadata }
    // 0 rows: certainly not applied, the new file is garbage.
    await this.#io.delete(location).catch(() => {})
    const current = await this.currentMetadataLocation(id)
    if (current === undefined)
      throw new NoSuchTableError(`${this.#display(id)} does not exist in catalog ${this.name}`)
    throw new CommitConflictError(
      `${this.#display(id)} moved from ${base} to ${current} since it was loaded; reload and rebuild on the new parent`,
    )
  }

  async close(): Promise<void> {
    // The SqlClient and FileIO belong to the caller (shared with the site store).
  }

  #display(id: TableIdentifier): string {
    return [...id.namespace, id.name].join('.')
  }
}
