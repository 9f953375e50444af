/**
 * The write side's one entry point for the flush path: rows → Parquet data files (one per
 * partition) → manifest → manifest list on the current parent → new metadata → catalog commit.
 *
 * Two halves, usable apart: `stage` (validate, encode and upload the data files) and `commitFiles`
 * (manifest, manifest list and catalog commit of given DataFiles), so writers over a replicated log
 * can produce files while one commit coordinator commits them (src/log/commit-coordinator.ts).
 * `append` is both, as one call, for the single process.
 *
 * Contract agreed with buffer/ and commit/:
 * - Data files and the manifest are written once per append; on CommitConflictError the table is
 *   reloaded and only the manifest list + metadata are rebuilt on the new parent (never resend a
 *   stale manifest list: that drops other writers' snapshots).
 * - Every snapshot summary carries `floe.commit-id` (a fresh UUID per append call) so that a
 *   CommitStateUnknownError is resolved by reloading and searching for it, never by re-committing.
 * - `summary` lets the buffer record its write-ahead-log position (e.g. `floe.writer-id`,
 *   `floe.wal-seq`) so recovery can tell which log entries a snapshot already contains.
 * - Rows are validated against the schema before anything is written (SchemaMismatchError).
 *
 * Failure guarantees: nothing reaches the catalog unless every data file and the manifest were
 * written; after a definite failure (validation, upload error, conflicts exhausted) the files this
 * append wrote are deleted best-effort. After an *unknown* outcome that a reload could not settle,
 * files are kept (the commit may still be live) and CommitStateUnknownError is thrown.
 */
import { randomUUID } from 'node:crypto'
import type { Row, TableName } from '../rows.ts'
import { TABLE_NAMES } from '../rows.ts'
import type { FloeConfig } from '../config.ts'
import type { Catalog, LoadedTable, TableIdentifier } from '../table/catalog.ts'
import { addSnapshotUpdates, mainBranchRequirements } from '../table/append-commit.ts'
import { commitWithRetry, type CommitRetryPolicy } from '../table/commit.ts'
import type { FileIO } from '../storage/file-io.ts'
import {
  AlreadyCommittedError,
  NoSuchTableError,
  StaleSpecError,
  type SchemaMismatchError,
} from '../errors.ts'
import type { IcebergSchema, TableDefinition, TableMetadata } from '../table/metadata.ts'
import { currentSchema, defaultSpec, newTableMetadata } from '../table/metadata.ts'
import { loadTableDefinitions } from './table-definition.ts'
import { checkTableSchema, invalidRows, validateRows } from './validate.ts'
import { bindSpec } from './partition.ts'
import type { ParquetWriteOptions } from './parquet.ts'
import { addedManifestFile, currentManifests, writeManifestList } from './manifest-list.ts'
import { buildAppendSnapshot, findSnapshotByCommitId, newSnapshotId, type AppendStats } from './snapshot.ts'
import { metadataDir } from '../table/metadata-file.ts'
import { mergeManifests, mergePolicy } from './manifest-merge.ts'
import { deleteAll, stageAppend, stageDataFiles, type StagedAppend } from './data-files.ts'
import { writeManifest, type DataFile } from './manifest.ts'
import type { AppendEncoder } from './encode-append.ts'
import { locationUnder } from '../commit/identifier.ts'
import { addColumnsCommit, missingColumns } from '../table/schema-evolution.ts'

export interface AppendOptions {
  /** Extra snapshot summary properties (string values only). */
  summary?: Record<string, string>
  /**
   * True if the table (as loaded) already holds rows of this append, e.g. from an earlier append
   * whose outcome was unknown and that landed late. Checked on the first load and on every reload
   * before a commit attempt; then AlreadyCommittedError is thrown and nothing of this call stays.
   */
  alreadyCommitted?: (metadata: TableMetadata) => boolean
  /**
   * Table properties set in the same commit as the snapshot (`set-properties` beside
   * `add-snapshot`), e.g. the committed WAL position, which survives any engine's snapshot expiry.
   */
  properties?: Record<string, string>
  /**
   * The log positions this append's rows came from, per partition key (`<log>/<partition>`): the
   * first and last of each. Only a coordinated commit reads it (src/log/coordinated-append.ts).
   */
  claim?: Record<string, { first: number; last: number }>
}

/** Data files `stage` uploaded, not yet in any snapshot. */
export interface StagedFiles {
  table: TableName
  files: DataFile[]
  records: number
  /** Every URI written (the data files). */
  written: string[]
}

export interface AppendResult {
  table: TableName
  snapshotId: bigint
  metadataLocation: string
  dataFiles: number
  records: number
  /** Commit attempts used (1 = no conflict). */
  attempts: number
  /** Snapshots in the table right after this commit (what snapshot expiry has to bound). */
  snapshotCount: number
  /** The table's `floe.history.max-snapshots`, when set (the count bound expiry keeps to). */
  maxSnapshots?: number
}

export interface TableWriter {
  /** Creates namespace and tables on first use (idempotent). */
  ensureTables(): Promise<void>
  append(table: TableName, rows: Row[], options?: AppendOptions): Promise<AppendResult>
  /**
   * The staging half of `append`: validates `rows` and uploads their Parquet data files, nothing
   * more (no manifest, no commit). A commit coordinator commits the files later (`commitFiles`).
   */
  stage(table: TableName, rows: Row[]): Promise<StagedFiles>
  /**
   * The commit half: one append snapshot adding `files` (staged by `stage`, in this process or
   * another), with `options`' summary, properties and `alreadyCommitted` check as `append`.
   */
  commitFiles(table: TableName, files: readonly DataFile[], options?: AppendOptions): Promise<AppendResult>
  /** Current state of a table (for recovery checks and the read side). */
  load(table: TableName): Promise<LoadedTable>
  /** The rows `append` would refuse with SchemaMismatchError, each with its error. */
  invalidRows(table: TableName, rows: readonly Row[]): Array<{ index: number; error: SchemaMismatchError }>
}

/**
 * Explicit overrides of the table's `commit.retry.*` properties (`src/table/commit.ts`), in the
 * writer's terms: `maxAttempts` = 1 + num-retries, `baseDelayMs` = min-wait, `maxDelayMs` = max-wait.
 */
export interface RetryPolicy {
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
}

interface CommonOptions {
  catalog: Catalog
  io: FileIO
  /** Table definitions (default: `schemas/*.json`). */
  definitions?: Record<TableName, TableDefinition>
  retry?: Partial<RetryPolicy>
  parquet?: ParquetWriteOptions
  /** Where Parquet files and manifests are encoded (default: this thread; app.ts passes the worker pool). */
  encoder?: AppendEncoder
  /** Injectable for tests; default setTimeout. */
  sleep?: (ms: number) => Promise<void>
}

/** Either explicit namespace + warehouse URI, or the app config (`iceberg.namespace`, `.warehouse`). */
export type TableWriterOptions = CommonOptions &
  ({ namespace: string[]; warehouse: string } | { config: Pick<FloeConfig, 'iceberg'> })

/** Table properties Floe adds to existing tables that lack them (see adoptMaintenanceProperties). */
const MAINTENANCE_PROPERTY =
  /^(write\.metadata\.(delete-after-commit\.enabled|previous-versions-max)|history\.expire\.|floe\.history\.|commit\.manifest|commit\.retry\.)/

export function createTableWriter(opts: TableWriterOptions): TableWriter {
  const { catalog, io } = opts
  const namespace = 'config' in opts ? opts.config.iceberg.namespace.split('.') : opts.namespace
  const warehouse = ('config' in opts ? opts.config.iceberg.warehouse : opts.warehouse).replace(/\/+$/, '')
  const definitions = opts.definitions ?? loadTableDefinitions()
  const retryOverrides: Partial<CommitRetryPolicy> = {
    ...(opts.retry?.maxAttempts !== undefined ? { numRetries: opts.retry.maxAttempts - 1 } : {}),
    ...(opts.retry?.baseDelayMs !== undefined ? { minWaitMs: opts.retry.baseDelayMs } : {}),
    ...(opts.retry?.maxDelayMs !== undefined ? { maxWaitMs: opts.retry.maxDelayMs } : {}),
  }
  const idOf = (table: TableName): TableIdentifier => ({ namespace, name: table })
  // Appends to one table from this process run one at a time: they would only conflict with each
  // other. Other processes are handled by the commit retry loop.
  const queues = new Map<TableName, Promise<unknown>>()

  function queued<T>(table: TableName, fn: () => Promise<T>): Promise<T> {
    const run = (queues.get(table) ?? Promise.resolve()).then(fn)
    queues.set(
      table,
      run.catch(() => undefined),
    )
    return run
  }

  async function ensureTable(table: TableName): Promise<LoadedTable> {
    const id = idOf(table)
    const existing = await catalog.loadTable(id)
    if (existing) return existing
    await catalog.createNamespaceIfAbsent(namespace)
    const location = locationUnder(warehouse, [...namespace, table])
    return catalog.createTableIfAbsent(id, newTableMetadata(definitions[table], location, randomUUID()))
  }

  async function load(table: TableName): Promise<LoadedTable> {
    const loaded = await catalog.loadTable(idOf(table))
    if (!loaded)
      throw new NoSuchTableError(
        `table ${[...namespace, table].join('.')} does not exist; call ensureTables()`,
      )
    return loaded
  }

  /**
   * The table as a commit of `table` starts from: loaded (created if absent), its schema checked
   * against Floe's definition, and `alreadyCommitted` asked (an earlier append of these rows may
   * have landed late: committing them again would duplicate them). `check` repeats both on every
   * reload of a commit attempt (another engine may have changed the schema meanwhile).
   */
  async function startFrom(table: TableName, options: AppendOptions) {
    const def = definitions[table]
    if (!def) throw new NoSuchTableError(`no table definition for ${table}`)
    const base = await ensureTable(table)
    let checkedSchema: IcebergSchema | undefined
    const check = (loaded: LoadedTable): IcebergSchema => {
      let schema = checkedSchema
      if (schema === undefined || loaded.metadata['current-schema-id'] !== schema['schema-id'])
        checkedSchema = schema = checkTableSchema(table, def.schema, currentSchema(loaded.metadata))
      if (options.alreadyCommitted?.(loaded.metadata))
        throw new AlreadyCommittedError(`${table}: the table already holds rows of this append`)
      return schema
    }
    return { def, base, check, tableSchema: check(base) }
  }

  /** Nothing to add: the table as it is. */
  function unchanged(table: TableName, base: LoadedTable): AppendResult {
    return {
      table,
      snapshotId: base.metadata['current-snapshot-id'],
      metadataLocation: base.metadataLocation,
      dataFiles: 0,
      records: 0,
      attempts: 0,
      snapshotCount: base.metadata.snapshots?.length ?? 0,
      ...maxSnapshotsOf(base.metadata.properties),
    }
  }

  /** Encodes and uploads the data files (and, unless only files are wanted, their manifest) of `rows`. */
  async function encodeAndUpload(
    table: TableName,
    rows: Row[],
    start: Awaited<ReturnType<typeof startFrom>>,
    ids: { commitId: string; snapshotId: bigint },
    withManifest: boolean,
  ): Promise<StagedAppend> {
    const { def, base, tableSchema } = start
    const input = {
      schema: def.schema,
      tableSchema,
      spec: defaultSpec(base.metadata),
      properties: base.metadata.properties ?? {},
      location: base.metadata.location,
      metadataDir: metadataDir(base.metadata),
      ...ids,
      rows,
      parquet: opts.parquet,
    }
    return withManifest ? stageAppend(io, input, opts.encoder) : stageDataFiles(io, input, opts.encoder)
  }

  async function appendNow(table: TableName, rows: Row[], options: AppendOptions): Promise<AppendResult> {
    const def = definitions[table]
    if (!def) throw new NoSuchTableError(`no table definition for ${table}`)
    validateRows(table, def.schema, rows) // before anything is written
    const start = await startFrom(table, options)
    if (rows.length === 0) return unchanged(table, start.base)
    const ids = { commitId: randomUUID(), snapshotId: newSnapshotId() }
    const staged = await encodeAndUpload(table, rows, start, ids, true)
    return commitStaged(table, start, staged, ids, BigInt(rows.length), options, staged.written)
  }

  async function stageNow(table: TableName, rows: Row[]): Promise<StagedFiles> {
    const def = definitions[table]
    if (!def) throw new NoSuchTableError(`no table definition for ${table}`)
    validateRows(table, def.schema, rows) // before anything is written
    const start = await startFrom(table, {})
    if (rows.length === 0) return { table, files: [], records: 0, written: [] }
    const staged = await encodeAndUpload(
      table,
      rows,
      start,
      { commitId: randomUUID(), snapshotId: newSnapshotId() },
      false,
    )
    return { table, files: staged.files, records: rows.length, written: staged.written }
  }

  async function commitFilesNow(
    table: TableName,
    files: readonly DataFile[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    const start = await startFrom(table, options)
    if (files.length === 0) return unchanged(table, start.base)
    const spec = defaultSpec(start.base.metadata)
    const stale = files.find((f) => f.specId !== spec['spec-id'])
    if (stale)
      throw new StaleSpecError(
        `${table}: ${stale.filePath} was written for partition spec ${stale.specId}, the table's is ${spec['spec-id']}`,
      )
    const ids = { commitId: randomUUID(), snapshotId: newSnapshotId() }
    // The manifest listing files other processes wrote: written here, on this commit's snapshot id
    // (a few hundred bytes per file; no need for the encoder pool).
    const manifest = writeManifest({
      schema: start.tableSchema,
      spec,
      fields: bindSpec(spec, start.def.schema),
      snapshotId: ids.snapshotId,
      files,
    })
    const manifestPath = `${metadataDir(start.base.metadata)}/${ids.commitId}-m0.avro`
    await io.write(manifestPath, manifest)
    const staged: StagedAppend = {
      files: [...files],
      manifestPath,
      manifestLength: manifest.byteLength,
      written: [manifestPath],
    }
    const records = files.reduce((n, f) => n + f.recordCount, 0n)
    // On a definite failure only this commit's own files go: the data files still belong to
    // whoever staged them (they may be committed again).
    return commitStaged(table, start, staged, ids, records, options, staged.written)
  }

  /**
   * The commit half: the staged files' manifest on the current parent (merged as Java's
   * MergeAppend), the snapshot, and the catalog commit, rebuilt on the new parent after a conflict.
   */
  async function commitStaged(
    table: TableName,
    start: Awaited<ReturnType<typeof startFrom>>,
    staged: StagedAppend,
    ids: { commitId: string; snapshotId: bigint },
    records: bigint,
    options: AppendOptions,
    ownFiles: string[],
  ): Promise<AppendResult> {
    const { base, check, tableSchema } = start
    const { commitId, snapshotId } = ids
    const spec = defaultSpec(base.metadata)
    const fields = bindSpec(spec, start.def.schema)
    const stats: AppendStats = {
      addedDataFiles: staged.files.length,
      addedRecords: records,
      addedFilesSize: staged.files.reduce((s, f) => s + f.fileSizeInBytes, 0n),
      changedPartitionCount: staged.files.length,
    }
    const summary = { ...options.summary, 'floe.commit-id': commitId }
    const result = (loaded: LoadedTable, attempts: number): AppendResult => ({
      table,
      snapshotId,
      metadataLocation: loaded.metadataLocation,
      dataFiles: staged.files.length,
      records: Number(records),
      attempts,
      snapshotCount: loaded.metadata.snapshots?.length ?? 0,
      ...maxSnapshotsOf(loaded.metadata.properties),
    })

    const { committed, attempts } = await commitWithRetry({
      catalog,
      id: idOf(table),
      io,
      base,
      retry: retryOverrides,
      sleep: opts.sleep,
      landed: (metadata) => findSnapshotByCommitId(metadata, commitId) !== undefined,
      onDefiniteFailure: () => deleteAll(io, ownFiles),
      build: async (loaded, attempt) => {
        check(loaded)
        const { listPath, merged } = await buildAttempt(loaded, attempt)
        return {
          requirements: mainBranchRequirements(loaded.metadata),
          updates: [
            ...addSnapshotUpdates(
              buildAppendSnapshot(loaded.metadata, {
                snapshotId,
                manifestListLocation: listPath,
                stats,
                extraSummary: summary,
                baseMetadataLocation: loaded.metadataLocation,
              }),
            ),
            ...(options.properties
              ? [{ action: 'set-properties' as const, updates: options.properties }]
              : []),
          ],
          attemptFiles: [listPath, ...merged],
        }
      },
    })
    return result(committed, attempts)

    /**
     * Manifest list on the current parent, for one attempt, merging manifests as Java's MergeAppend
     * (manifest-merge.ts); returns its location and the merged manifests written for it.
     */
    async function buildAttempt(loaded: LoadedTable, attempt: number) {
      const sequenceNumber = loaded.metadata['last-sequence-number'] + 1n
      const parentManifests = await currentManifests(io, loaded.metadata)
      const added = addedManifestFile({
        path: staged.manifestPath,
        length: staged.manifestLength,
        specId: spec['spec-id'],
        snapshotId,
        fields,
        files: staged.files,
        sequenceNumber,
      })
      const parentId = loaded.metadata['current-snapshot-id']
      const dir = metadataDir(loaded.metadata)
      const { manifests, written: merged } = await mergeManifests({
        io,
        manifests: [added, ...parentManifests],
        policy: mergePolicy(loaded.metadata.properties),
        snapshotId,
        sequenceNumber,
        schema: tableSchema,
        specs: loaded.metadata['partition-specs'],
        newPath: (n) => `${dir}/${commitId}-m${attempt}-${n}.avro`,
      })
      const listBytes = writeManifestList({
        snapshotId,
        parentSnapshotId: parentId === -1n || parentId === null ? undefined : parentId,
        sequenceNumber,
        manifests,
      })
      const listPath = `${dir}/snap-${snapshotId}-${attempt}-${commitId}.avro`
      await io.write(listPath, listBytes)
      ownFiles.push(listPath, ...merged)
      return { listPath, merged }
    }
  }

  /**
   * Tables created before Floe set its maintenance properties (or by another engine) get the ones
   * they lack, once, on start: only keys that are absent, so an operator's own value (say
   * `write.metadata.delete-after-commit.enabled=false` because Spark maintains the table) stays.
   */
  async function adoptMaintenanceProperties(table: TableName, loaded: LoadedTable): Promise<void> {
    const missingIn = (md: TableMetadata) =>
      Object.fromEntries(
        Object.entries(definitions[table]?.properties ?? {}).filter(
          ([k]) => MAINTENANCE_PROPERTY.test(k) && md.properties?.[k] === undefined,
        ),
      )
    if (Object.keys(missingIn(loaded.metadata)).length === 0) return
    await commitWithRetry({
      catalog,
      id: idOf(table),
      io,
      base: loaded,
      retry: retryOverrides,
      sleep: opts.sleep,
      build: async (t) => ({
        requirements: [{ type: 'assert-table-uuid', uuid: t.metadata['table-uuid'] }],
        updates: [{ action: 'set-properties', updates: missingIn(t.metadata) }],
      }),
      landed: (md) => Object.keys(missingIn(md)).length === 0,
    })
  }

  /**
   * Tables created before Floe's definition gained columns (pa_events' `campaign_id`, `source`,
   * `sample_rate`) are upgraded in place on start: one add-columns commit (schema-evolution.ts).
   * Returns the table as it is after the upgrade.
   */
  async function upgradeSchema(table: TableName, loaded: LoadedTable): Promise<LoadedTable> {
    const wanted = definitions[table].schema.fields
    if (!addColumnsCommit(table, loaded.metadata, wanted)) return loaded
    const { committed } = await commitWithRetry({
      catalog,
      id: idOf(table),
      io,
      base: loaded,
      retry: retryOverrides,
      sleep: opts.sleep,
      build: async (t) => addColumnsCommit(table, t.metadata, wanted) ?? { requirements: [], updates: [] },
      landed: (md) => missingColumns(currentSchema(md), wanted).length === 0,
    })
    return committed
  }

  return {
    async ensureTables() {
      for (const table of TABLE_NAMES)
        await adoptMaintenanceProperties(table, await upgradeSchema(table, await ensureTable(table)))
    },
    append(table, rows, options = {}) {
      return queued(table, () => appendNow(table, rows, options))
    },
    stage: stageNow,
    commitFiles(table, files, options = {}) {
      return queued(table, () => commitFilesNow(table, files, options))
    },
    load,
    invalidRows(table, rows) {
      const def = definitions[table]
      if (!def) throw new NoSuchTableError(`no table definition for ${table}`)
      return invalidRows(table, def.schema, rows)
    },
  }
}

/** `floe.history.max-snapshots` as a positive integer, or nothing when unset or invalid. */
function maxSnapshotsOf(properties: Record<string, string> | undefined): { maxSnapshots?: number } {
  const n = Number(properties?.['floe.history.max-snapshots'])
  return Number.isInteger(n) && n > 0 ? { maxSnapshots: n } : {}
}
