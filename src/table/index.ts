/**
 * The commit core: Iceberg table metadata and the spec's commit model (requirements + updates),
 * shared by the append path (`src/write/`), maintenance (`src/maintenance/`), every catalog
 * (`src/commit/`) and Floe's REST endpoint (`src/read/`). It imports nothing of those stages.
 *
 * API (stable; extend, don't rename):
 *
 * - Types: `TableMetadata`, `Snapshot`, `SnapshotRef`, … (`metadata.ts`); BigInt-safe JSON
 *   (`json.ts`); metadata files: `readMetadataFile`, `writeMetadataFile`, `nextMetadataLocation`,
 *   `metadataDir` (`metadata-file.ts`).
 * - `TableRequirement` + `checkRequirements(current, requirements)` → CommitConflictError on an
 *   unmet one; `parseRequirements(json)` (`requirements.ts`).
 * - `TableUpdate` (`add-snapshot`, `set-snapshot-ref`, `remove-snapshots`, `remove-snapshot-ref`,
 *   `set-properties`, `remove-properties`) + the one pure `applyUpdates(base, updates,
 *   { previousMetadataLocation })`; `parseUpdates(json)` (`updates.ts`).
 * - `Catalog.commit(id, requirements, updates, { base? })` (`catalog.ts`): the only way a table
 *   changes. `MetastoreCatalog` (`metastore.ts`) implements it for pointer catalogs: load, check,
 *   apply, write the next metadata file, swap; then deletes the metadata files the log dropped when
 *   `write.metadata.delete-after-commit.enabled=true`. The REST client sends them as they are.
 * - `commitWithRetry({ catalog, id, io, build, landed, onDefiniteFailure? })` (`commit.ts`): the
 *   retry loop honouring `commit.retry.*` (Java's defaults). `build(base, attempt)` returns
 *   `{ requirements, updates, attemptFiles }` built on the freshly loaded table; `landed(metadata)`
 *   settles an unknown outcome. Example, a maintenance commit that expires snapshots:
 *
 *     await commitWithRetry({
 *       catalog, id, io,
 *       build: async (t) => ({
 *         requirements: [{ type: 'assert-table-uuid', uuid: t.metadata['table-uuid'] }],
 *         updates: [{ action: 'remove-snapshots', 'snapshot-ids': ids }],
 *       }),
 *       landed: (md) => !md.snapshots.some((s) => ids.includes(s['snapshot-id'])),
 *     })
 *
 *   A replace (compaction) commit: `mainBranchRequirements(t.metadata)` (main unchanged since the
 *   plan) + `addSnapshotUpdates(snapshot)` (`append-commit.ts`).
 */
export * from './catalog.ts'
export * from './metadata.ts'
export * from './metadata-file.ts'
export * from './requirements.ts'
export * from './updates.ts'
export * from './metastore.ts'
export * from './commit.ts'
export * from './append-commit.ts'
export { parseJson, stringifyJson } from './json.ts'
