/**
 * Opens the storage the config names: the warehouse FileIO (S3 when `ICEBERG_S3_BUCKET` is set,
 * else the local folder) and the SQL client (Postgres at `DATABASE_URL`, else embedded PGlite under
 * `<dataDir>/pglite`).
 */
import path from 'node:path'
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

export async function openSql(config: FloeConfig): Promise<SqlClient> {
  if (config.databaseUrl !== undefined)
    return new PgSql(config.databaseUrl, { connectTimeoutMs: config.databaseConnectTimeoutSeconds * 1000 })
  // Imported only when embedded: PGlite's WASM Postgres adds ~37 MB of RSS on load.
  const { PGliteSql } = await import('./pglite.ts')
  return PGliteSql.open(pgliteDir(config))
}
