/**
 * File-system tables (Iceberg's "hadoop" catalog, docs/catalogs.md): no catalog service, the warehouse
 * layout *is* the catalog.
 *
 *   <warehouse>/<ns levels…>/<table>/metadata/v<N>.metadata.json   (N = 1, 2, …)
 *   <warehouse>/<ns levels…>/<table>/metadata/version-hint.text     (decimal N, advisory)
 *
 * Commit (the shared MetastoreCatalog: load, check requirements, apply updates, then swap) =
 * create `v<N+1>.metadata.json` only if it does not exist (FileIO.writeIfAbsent: link(2)
 * on a local folder, `PUT` with `If-None-Match: *` on S3). Exactly one of two concurrent writers
 * that both read `v<N>` wins; the other gets CommitConflictError and rebuilds on the new parent.
 * Java's HadoopTableOperations instead checks-then-renames, which is the race that makes the scheme
 * unsafe on object stores; with a create-if-absent primitive it is safe (the icebird/ClickHouse
 * design in docs/catalogs.md).
 *
 * `version-hint.text` is only a hint: it is written after the commit, can go stale or backwards
 * when writers race, and can be missing. Loading therefore starts from the hint and probes forward
 * (`v<N+1>`, `v<N+2>` … until absent), and lists `metadata/` when the hint is missing or wrong.
 *
 * Unsafe case, refused by default: a FileIO whose `conditionalWrites` is false (an S3-compatible
 * store that ignores `If-None-Match`). There, two writers can both "create" `v<N+1>` and the later
 * PUT silently replaces the earlier commit: accepted rows would be lost. Construction throws a
 * ConfigError unless `allowUnsafeCommits` is set (ICEBERG_HADOOP_ALLOW_UNSAFE_COMMITS=true, only
 * for a single writer process), and then every commit is logged as unsafe. See docs/catalogs.md.
 */
import {
  CommitConflictError,
  CommitStateUnknownError,
  ConfigError,
  FileNotFoundError,
  FloeError,
  WriteNotAppliedError,
} from '../errors.ts'
import type { FileIO } from '../storage/file-io.ts'
import type { TableMetadata } from '../table/metadata.ts'
import { readMetadataFile, serializeMetadata } from '../table/metadata-file.ts'
import type { LoadedTable, TableIdentifier } from '../table/catalog.ts'
import { MetastoreCatalog } from '../table/metastore.ts'
import { defaultTableLocation } from './jdbc.ts'

export interface HadoopCatalogOptions {
  io: FileIO
  /** Warehouse root URI (`file:///abs/dir` or `s3://bucket/prefix`). */
  warehouse: string
  name?: string
  /** Allow commits on a store that does not enforce create-if-absent (single writer only). */
  allowUnsafeCommits?: boolean
  /** Where warnings go (default: console.warn); the process logger in production. */
  warn?: (message: string) => void
}

const VERSION_FILE = /^v(\d+)(?:\.gz)?\.metadata\.json$/
const HINT = 'version-hint.text'

export class HadoopCatalog extends MetastoreCatalog {
  readonly type = 'hadoop' as const
  readonly name: string
  readonly #io: FileIO
  readonly #warehouse: string
  readonly #unsafe: boolean
  readonly #warn: (message: string) => void

  constructor(options: HadoopCatalogOptions) {
    super(options.io)
    this.#io = options.io
    this.#warehouse = options.warehouse.replace(/\/+$/, '')
    this.name = options.name ?? 'hadoop'
    this.#warn = options.warn ?? ((m) => console.warn(m))
    this.#unsafe = !options.io.conditionalWrites
    if (this.#unsafe && !options.allowUnsafeCommits) {
      throw new ConfigError(
        'ICEBERG_CATALOG_TYPE',
        'hadoop tables need a store that enforces create-if-absent (If-None-Match: *); this store ' +
          'does not, so concurrent commits could overwrite each other. Use jdbc/rest/glue, or set ' +
          'ICEBERG_HADOOP_ALLOW_UNSAFE_COMMITS=true if exactly one writer ever commits.',
      )
    }
    if (this.#unsafe) {
      this.#warn('UNSAFE: hadoop catalog on a store without conditional writes; run exactly one writer')
    }
  }

  /** Java HadoopCatalog's location rule: `<warehouse>/<ns levels>/<table>` (same as JdbcCatalog's default). */
  tableLocation(id: TableIdentifier): string {
    return defaultTableLocation(this.#warehouse, id)
  }

  #metadataDir(id: TableIdentifier): string {
    return `${this.tableLocation(id)}/metadata`
  }

  #versionUri(id: TableIdentifier, version: number): string {
    return `${this.#metadataDir(id)}/v${version}.metadata.json`
  }

  /** Java writes `v<N>.gz.metadata.json` when `write.metadata.compression-codec=gzip`. */
  #gzVersionUri(id: TableIdentifier, version: number): string {
    return `${this.#metadataDir(id)}/v${version}.gz.metadata.json`
  }

  /** The file of `version` under either name, or undefined if there is none. */
  async #existingVersion(id: TableIdentifier, version: number): Promise<string | undefined> {
    for (const uri of [this.#versionUri(id, version), this.#gzVersionUri(id, version)])
      if (await this.#io.exists(uri)) return uri
    return undefined
  }

  async listNamespaces(): Promise<string[][]> {
    const seen = new Map<string, string[]>()
    for (const t of await this.#listTablesUnder([])) seen.set(t.namespace.join('\u001f'), t.namespace)
    return [...seen.values()]
  }

  /**
   * A namespace is just a directory, and object stores have no empty directories, so nothing is
   * written: the namespace appears (in listNamespaces) with its first table.
   */
  async createNamespaceIfAbsent(_namespace: string[]): Promise<void> {}

  async listTables(namespace: string[]): Promise<TableIdentifier[]> {
    return (await this.#listTablesUnder(namespace)).filter((t) => t.namespace.length === namespace.length)
  }

  /**
   * Tables are found by listing files under the prefix and keeping `…/<table>/metadata/vN.metadata.json`.
   * FileIO only lists recursively, so this reads every key below the prefix (data files too):
   * fine for Floe's two tables, slow for a warehouse with millions of files.
   */
  async #listTablesUnder(namespace: string[]): Promise<TableIdentifier[]> {
    const prefix = [this.#warehouse, ...namespace].join('/') + '/'
    const found = new Map<string, TableIdentifier>()
    for (const uri of await this.#io.list(prefix)) {
      const parts = uri.slice(prefix.length).split('/')
      const file = parts.at(-1)!
      if (parts.length < 3 || parts.at(-2) !== 'metadata' || !VERSION_FILE.test(file)) continue
      const id = { namespace: [...namespace, ...parts.slice(0, -3)], name: parts.at(-3)! }
      if (id.namespace.length === 0) continue
      found.set([...id.namespace, id.name].join('\u001f'), id)
    }
    return [...found.values()]
  }

  /**
   * Newest `vN`: start at the hint (or, without a usable hint, the highest listed version) and probe
   * forward while `v<N+1>` exists. vN files are immutable and only old ones are deleted, so the walk
   * ends at the newest. A hint naming a missing file (hand-edited, or old metadata cleaned up after
   * a commit, `write.metadata.delete-after-commit.enabled`) falls back to the listing.
   */
  async loadTable(id: TableIdentifier): Promise<LoadedTable | undefined> {
    const hint = await this.#readHint(id)
    if (hint !== undefined) {
      const loaded = await this.#loadFrom(id, hint)
      if (loaded) return loaded
    }
    const listed = await this.#maxListedVersion(id)
    return listed === undefined ? undefined : this.#loadFrom(id, listed)
  }

  async #loadFrom(id: TableIdentifier, start: number): Promise<LoadedTable | undefined> {
    let version = start
    while ((await this.#existingVersion(id, version + 1)) !== undefined) version++
    const metadataLocation = (await this.#existingVersion(id, version)) ?? this.#versionUri(id, version)
    try {
      return { metadataLocation, metadata: await readMetadataFile(this.#io, metadataLocation) }
    } catch (err) {
      if (err instanceof FileNotFoundError) return undefined
      throw err
    }
  }

  async #readHint(id: TableIdentifier): Promise<number | undefined> {
    const uri = `${this.#metadataDir(id)}/${HINT}`
    try {
      const text = new TextDecoder().decode(await this.#io.read(uri)).trim()
      return /^\d+$/.test(text) ? Number(text) : undefined
    } catch {
      return undefined // missing or unreadable: fall back to listing, as Java readers do
    }
  }

  async #maxListedVersion(id: TableIdentifier): Promise<number | undefined> {
    let max: number | undefined
    for (const uri of await this.#io.list(this.#metadataDir(id) + '/')) {
      const m = VERSION_FILE.exec(uri.slice(uri.lastIndexOf('/') + 1))
      if (m && (max === undefined || Number(m[1]) > max)) max = Number(m[1])
    }
    return max
  }

  async createTableIfAbsent(id: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable> {
    const existing = await this.loadTable(id)
    if (existing) return existing
    const expected = this.tableLocation(id)
    if (metadata.location.replace(/\/+$/, '') !== expected) {
      throw new FloeError(
        `hadoop tables live at <warehouse>/<namespace>/<table>: expected location ${expected}`,
      )
    }
    const uri = this.#versionUri(id, 1)
    // Concurrent creators: one creates v1, the others find it and load whatever is current.
    if (await this.#create(uri, serializeMetadata(metadata))) {
      await this.#writeHint(id, 1)
      return { metadataLocation: uri, metadata }
    }
    const now = await this.loadTable(id)
    if (!now) throw new FloeError(`table ${expected} vanished while being created`)
    return now
  }

  protected async swap(id: TableIdentifier, base: LoadedTable, next: TableMetadata): Promise<LoadedTable> {
    const commit = { base, metadata: next }
    const name = commit.base.metadataLocation.slice(commit.base.metadataLocation.lastIndexOf('/') + 1)
    const m = VERSION_FILE.exec(name)
    const baseVersion = m ? Number(m[1]) : NaN
    const names = m ? [this.#versionUri(id, baseVersion), this.#gzVersionUri(id, baseVersion)] : []
    if (!m || !names.includes(commit.base.metadataLocation)) {
      throw new FloeError(
        `not a metadata file of hadoop table ${this.tableLocation(id)}: ${commit.base.metadataLocation}`,
      )
    }
    const nextVersion = Number(m[1]) + 1
    const uri = this.#versionUri(id, nextVersion)
    // Another engine set to gzip metadata commits `v<N+1>.gz.metadata.json`, a name our
    // create-if-absent does not cover. (Mixed writers on a hadoop table are unsupported anyway:
    // docs/catalogs.md; this catches the plain case.)
    if (await this.#io.exists(this.#gzVersionUri(id, nextVersion)))
      throw new CommitConflictError(
        `${this.#gzVersionUri(id, nextVersion)} exists: another writer committed first`,
      )
    let created: boolean
    const bytes = serializeMetadata(commit.metadata)
    try {
      created = await this.#create(uri, bytes)
    } catch (err) {
      if (err instanceof WriteNotAppliedError) throw err // refused outright: nothing was created
      // The PUT/link may have happened before the error (lost response, failed directory fsync):
      // the caller must reload and look for its snapshot, not blindly re-commit.
      throw new CommitStateUnknownError(`hadoop commit of ${uri} failed: ${String(err)}`, err)
    }
    // An earlier attempt of this very commit may have landed: then its file is what is current.
    if (!created && !(await this.#ours(uri, bytes)))
      throw new CommitConflictError(`${uri} already exists: another writer committed first`)
    await this.#writeHint(id, nextVersion)
    return { metadataLocation: uri, metadata: commit.metadata }
  }

  /**
   * Whether the existing `uri` is our own commit. The S3 SDK retries a PUT whose answer was lost;
   * if the first attempt landed, the retry gets 412 and writeIfAbsent says "exists" although the
   * file is ours. Calling that a conflict would make the writer commit the same rows again.
   */
  async #ours(uri: string, bytes: Uint8Array): Promise<boolean> {
    try {
      return Buffer.from(await this.#io.read(uri)).equals(bytes)
    } catch (err) {
      throw new CommitStateUnknownError(`hadoop commit: could not read back ${uri}: ${String(err)}`, err)
    }
  }

  /** Create-if-absent; on an unconditional store, the racy check-then-write (opt-in only). */
  async #create(uri: string, bytes: Uint8Array): Promise<boolean> {
    if (!this.#unsafe) return this.#io.writeIfAbsent(uri, bytes)
    this.#warn(`UNSAFE hadoop commit of ${uri}: the store does not enforce create-if-absent`)
    if (await this.#io.exists(uri)) return false
    await this.#io.write(uri, bytes)
    return true
  }

  /**
   * Best effort: the commit already happened. Two writers' hint writes can land out of order
   * (A commits v2, B commits v3 and writes 3, A's 2 lands last), and readers that trust the hint
   * without probing forward (DuckDB's `iceberg_scan`) would then see an old snapshot. So after
   * writing, probe forward and rewrite the hint while a newer version exists; the last writer to
   * finish leaves the newest number.
   */
  async #writeHint(id: TableIdentifier, version: number): Promise<void> {
    try {
      let v = version
      for (let round = 0; round < 8; round++) {
        await this.#io.write(`${this.#metadataDir(id)}/${HINT}`, new TextEncoder().encode(String(v)))
        let newest = v
        while ((await this.#existingVersion(id, newest + 1)) !== undefined) newest++
        if (newest === v) return
        v = newest
      }
    } catch (err) {
      this.#warn(`could not update ${HINT} of ${this.tableLocation(id)} to ${version}: ${String(err)}`)
    }
  }

  async close(): Promise<void> {}
}
