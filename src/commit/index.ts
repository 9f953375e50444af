/**
 * The one place that turns `ICEBERG_CATALOG_TYPE` into a Catalog. Operators' guide per type:
 * docs/catalogs.md.
 *
 * - jdbc (default): Iceberg Java's JdbcCatalog tables in Postgres (`DATABASE_URL`) or the embedded database (SQLite, or PGlite).
 * - rest: an Iceberg REST catalog at `ICEBERG_CATALOG_URI` (`ICEBERG_CATALOG_CREDENTIALS`,
 *   `ICEBERG_CATALOG_WAREHOUSE`, `ICEBERG_CATALOG_SCOPE`, `ICEBERG_CATALOG_OAUTH2_SERVER_URI`).
 * - hadoop: file-system tables in the warehouse itself (needs create-if-absent from the store).
 * - glue: AWS Glue; `ICEBERG_CATALOG_URI` overrides the Glue endpoint (VPC endpoint, test double),
 *   region and credentials as for S3 (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, … or the default chain).
 */
import type { FloeConfig } from '../config.ts'
import { ConfigError } from '../errors.ts'
import type { FileIO } from '../storage/file-io.ts'
import type { SqlClient } from '../storage/sql.ts'
import type { Catalog } from '../table/catalog.ts'
import { validatingCatalog } from './validating.ts'

export type { Catalog, CatalogType, CommitOptions, LoadedTable, TableIdentifier } from '../table/catalog.ts'

export interface CatalogDeps {
  /** Required for jdbc (Postgres, SQLite or PGlite). */
  sql?: SqlClient
  /** The warehouse FileIO: metadata files of jdbc, hadoop and glue tables are written through it. */
  io: FileIO
  /** Where catalog warnings go (e.g. the unsafe hadoop mode); default console.warn. */
  warn?: (message: string) => void
}

/**
 * Each catalog module is imported only when chosen: the Glue SDK alone adds ~16 MB of RSS to a
 * process that never talks to Glue.
 */
export async function createCatalog(config: FloeConfig, deps: CatalogDeps): Promise<Catalog> {
  // Identifiers are checked once here, for every type, before any catalog builds a path from them.
  return validatingCatalog(await openCatalog(config, deps))
}

async function openCatalog(config: FloeConfig, deps: CatalogDeps): Promise<Catalog> {
  const ice = config.iceberg
  switch (ice.catalogType) {
    case 'jdbc':
      if (!deps.sql)
        throw new ConfigError('ICEBERG_CATALOG_TYPE', 'jdbc needs a SQL store (DATABASE_URL or embedded)')
      const { JdbcCatalog } = await import('./jdbc.ts')
      return new JdbcCatalog({ sql: deps.sql, io: deps.io, name: ice.catalogName })
    case 'rest': {
      if (!ice.catalogUri)
        throw new ConfigError('ICEBERG_CATALOG_URI', 'is required when ICEBERG_CATALOG_TYPE=rest')
      const { RestCatalog } = await import('./rest.ts')
      return new RestCatalog({
        uri: ice.catalogUri,
        credentials: ice.catalogCredentials,
        warehouse: ice.catalogWarehouse,
        scope: ice.catalogScope,
        oauth2ServerUri: ice.catalogOauth2ServerUri,
        name: ice.catalogName,
      })
    }
    case 'hadoop': {
      const { HadoopCatalog } = await import('./hadoop.ts')
      return new HadoopCatalog({
        io: deps.io,
        warehouse: ice.warehouse,
        name: ice.catalogName,
        allowUnsafeCommits: ice.hadoopAllowUnsafeCommits ?? false,
        warn: deps.warn,
      })
    }
    case 'glue': {
      const { GlueCatalog } = await import('./glue.ts')
      const s3 = ice.s3
      const keys =
        s3?.accessKeyId && s3.secretAccessKey
          ? {
              accessKeyId: s3.accessKeyId,
              secretAccessKey: s3.secretAccessKey,
              ...(s3.sessionToken ? { sessionToken: s3.sessionToken } : {}),
            }
          : undefined
      return new GlueCatalog({
        io: deps.io,
        name: ice.catalogName,
        // Without a bucket there is no region in the config; the AWS SDK's own chain (AWS_REGION,
        // profile) then applies, as it does for credentials.
        region: s3?.region,
        endpoint: ice.catalogUri,
        credentials: keys,
      })
    }
  }
}
