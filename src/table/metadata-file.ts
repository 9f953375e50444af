/**
 * Metadata JSON files: naming, writing and reading. Used by the pointer catalogs (jdbc, glue;
 * hadoop has its own `v<N>` names) inside `commitAppend`, and by the read side.
 *
 * Names follow Java's metastore catalogs exactly (`BaseMetastoreTableOperations`):
 * `<location>/metadata/NNNNN-<uuid>.metadata.json`, a new table starting at `00000`, each commit
 * the previous version + 1. Trino parses this name (`IcebergUtil.parseVersion`) and rejects others.
 */
import { randomUUID } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import type { FileIO } from '../storage/file-io.ts'
import type { TableMetadata } from './metadata.ts'
import { parseJson, stringifyJson } from './json.ts'

/** The folder metadata files go to: `write.metadata.path` if set, else `<location>/metadata`. */
export function metadataDir(metadata: Pick<TableMetadata, 'location' | 'properties'>): string {
  const custom = metadata.properties?.['write.metadata.path']
  return (custom ?? `${metadata.location}/metadata`).replace(/\/+$/, '')
}

/**
 * Version number of a metadata file name (`00012-<uuid>.metadata.json` → 12, `v3.metadata.json` → 3),
 * or -1 if the name has none (Java then also starts over at 0).
 */
export function parseMetadataVersion(location: string): number {
  const name = location.slice(location.lastIndexOf('/') + 1)
  const m = /^v?(\d+)[-.]/.exec(name)
  return m ? Number(m[1]) : -1
}

/**
 * Location of the next metadata file for `metadata`: version = previous file's version + 1
 * (or 0 for a new table, `previousLocation` undefined), fresh UUID.
 */
export function nextMetadataLocation(
  metadata: Pick<TableMetadata, 'location' | 'properties'>,
  previousLocation?: string,
): string {
  const version = previousLocation === undefined ? 0 : parseMetadataVersion(previousLocation) + 1
  return `${metadataDir(metadata)}/${String(version).padStart(5, '0')}-${randomUUID()}.metadata.json`
}

/** Serialized bytes of a metadata object (BigInt-safe, compact like Java's TableMetadataParser). */
export function serializeMetadata(metadata: TableMetadata): Uint8Array {
  return new TextEncoder().encode(stringifyJson(metadata))
}

/**
 * Write `metadata` as a new file at `location` (from `nextMetadataLocation`). Uses `writeIfAbsent`:
 * metadata files are immutable once written and a name is never reused, so an existing file means
 * a bug or a UUID collision — fail loudly rather than replace another writer's metadata.
 *
 * Pointer catalogs call this in `commitAppend` *before* swapping the pointer; if the swap fails the
 * file is simply orphaned (never referenced), which is harmless.
 */
export async function writeMetadataFile(
  io: FileIO,
  metadata: TableMetadata,
  location: string,
): Promise<void> {
  const written = await io.writeIfAbsent(location, serializeMetadata(metadata))
  if (!written) throw new Error(`metadata file already exists, refusing to overwrite: ${location}`)
}

/** Parse metadata JSON text (BigInt-safe; unknown keys kept verbatim). */
export function parseMetadata(text: string): TableMetadata {
  const value = parseJson(text)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('table metadata must be a JSON object')
  }
  const md = value as TableMetadata
  if (md['format-version'] !== 2) {
    // Floe writes v2 only; v1 tables would need the `schema`/`partition-spec` keys converted.
    throw new Error(`unsupported table format-version ${String(md['format-version'])} (Floe writes v2)`)
  }
  return md
}

/**
 * Read a metadata file. Accepts gzip-compressed files (`.gz.metadata.json`, legacy
 * `.metadata.json.gz`, or any gzip magic), which other engines may write.
 */
export async function readMetadataFile(io: FileIO, location: string): Promise<TableMetadata> {
  let bytes = await io.read(location)
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes)
  return parseMetadata(new TextDecoder().decode(bytes))
}
