/**
 * Opens the storage the config names: the warehouse FileIO (S3 when `ICEBERG_S3_BUCKET` is set,
 * else the local folder) and the SQL client (Postgres at `DATABASE_URL`, else the embedded
 * database: SQLite in `<dataDir>/floe.sqlite`, or PGlite under `<dataDir>/pglite`).
 */
import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { ConfigError } from '../errors.ts'
import type { FloeConfig } from '../config.ts'
import type { FileIO } from './file-io.ts'
import type { SqlClient } from './sql.ts'
import { LocalFileIO, localPath } from './local.ts'
import { S3FileIO } from './s3.ts'
import { PgSql } from './pg.ts'

export type { FileIO, ListedFile } from './file-io.ts'
export type { SqlClient, SqlResult } from './sql.ts'
export { LocalFileIO, fileUri, localPath } from './local.ts'
export { S3FileIO, createS3Client, parseS3Uri, type S3FileIOOptions } from './s3.ts'
export { PgSql, type PgSqlOptions } from './pg.ts'
export { postgresDialect, sqliteDialect, type SqlDialect } from './dialect.ts'

export function openFileIO(config: FloeConfig): FileIO {
  const s3 = config.iceberg.s3
  // The local warehouse is the only folder Floe's FileIO may touch.
  if (s3 === undefined) return new LocalFileIO({ root: localPath(config.iceberg.warehouse) })
  return new S3FileIO({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    sessionToken: s3.sessionToken,
    conditionalWrites: s3.conditionalWrites ?? true,
    partSizeBytes: s3.partSizeBytes,
  })
}

export function pgliteDir(config: FloeConfig): string {
  return path.join(config.dataDir, 'pglite')
}

export function sqliteFile(config: FloeConfig): string {
  return path.join(config.dataDir, 'floe.sqlite')
}

const hasPgliteData = (dir: string) => existsSync(dir) && readdirSync(dir).length > 0

/**
 * The embedded database to open: FLOE_EMBEDDED_DB, else SQLite, except for a data folder made
 * before SQLite was the default (PGlite data, no SQLite file): that keeps its PGlite, so its
 * catalog pointers and sites stay where they are. Asking for SQLite explicitly there would start
 * on an empty catalog beside the old one, so it is refused instead.
 */
export function embeddedDb(config: FloeConfig): 'sqlite' | 'pglite' {
  const legacy = !existsSync(sqliteFile(config)) && hasPgliteData(pgliteDir(config))
  if (config.embeddedDb === 'sqlite' && legacy)
    throw new ConfigError(
      'FLOE_EMBEDDED_DB',
      `is sqlite, but ${pgliteDir(config)} holds this data folder's catalog and sites in PGlite; unset it (or set pglite) to keep using them`,
    )
  return config.embeddedDb ?? (legacy ? 'pglite' : 'sqlite')
}

export interface OpenSqlOptions {
  /** Told which embedded database was opened, and why when it is not the default. */
  log?: (message: string) => void
}

export async function openSql(config: FloeConfig, options: OpenSqlOptions = {}): Promise<SqlClient> {
  if (config.databaseUrl !== undefined)
    return new PgSql(config.databaseUrl, { connectTimeoutMs: config.databaseConnectTimeoutSeconds * 1000 })
  const which = embeddedDb(config)
  if (which === 'sqlite') {
    // node:sqlite is built into the Node that `npm start` runs (24); an older `node` has none.
    const { SqliteSql } = await import('./sqlite.ts').catch((err: unknown) => {
      throw new ConfigError(
        'FLOE_EMBEDDED_DB',
        `sqlite needs node:sqlite (Node 24, as \`npm start\` runs; this is Node ${process.versions.node}): start with npm start, or set FLOE_EMBEDDED_DB=pglite (${(err as Error).message})`,
      )
    })
    options.log?.(`embedded database: SQLite at ${sqliteFile(config)}`)
    return SqliteSql.open(sqliteFile(config))
  }
  options.log?.(
    config.embeddedDb === 'pglite'
      ? `embedded database: PGlite at ${pgliteDir(config)} (FLOE_EMBEDDED_DB=pglite)`
      : `embedded database: PGlite at ${pgliteDir(config)}, which holds this data folder's catalog and sites (made before SQLite became the default; set FLOE_EMBEDDED_DB=pglite to keep this explicit)`,
  )
  // Imported only when used: PGlite's WASM Postgres adds ~37 MB of RSS on load.
  const { PGliteSql } = await import('./pglite.ts')
  return PGliteSql.open(pgliteDir(config))
}
