/**
 * createCatalog: ICEBERG_CATALOG_TYPE (through loadConfig) picks the implementation, with the
 * settings each one needs, and refuses what cannot work with a ConfigError naming the variable.
 */
import { describe, expect, it } from 'vitest'
import { createCatalog } from '../../src/commit/index.ts'
import { loadConfig } from '../../src/config.ts'
import { ConfigError } from '../../src/errors.ts'
import { LocalFileIO } from '../../src/storage/local.ts'
import { S3FileIO } from '../../src/storage/s3.ts'
import type { SqlClient } from '../../src/storage/sql.ts'
import { startGlueDouble } from '../support/glue-double.ts'

const io = new LocalFileIO()
const cfg = (env: Record<string, string>) =>
  loadConfig({ ICEBERG_WAREHOUSE: '/tmp/floe-index-wh', ...env }, '/tmp')

describe('createCatalog', () => {
  it('defaults to jdbc named by ICEBERG_CATALOG_NAME, and needs a SQL store for it', async () => {
    await expect(createCatalog(cfg({}), { io })).rejects.toThrow(ConfigError)
    // Construction runs no SQL (tables are created lazily), so an unused client is enough here.
    const sql = {} as SqlClient
    const c = await createCatalog(cfg({ ICEBERG_CATALOG_NAME: 'prod' }), { io, sql })
    expect([c.type, c.name]).toEqual(['jdbc', 'prod'])
  })

  it('rest needs ICEBERG_CATALOG_URI', async () => {
    expect(() => cfg({ ICEBERG_CATALOG_TYPE: 'rest' })).toThrow(/ICEBERG_CATALOG_URI/)
    const c = await createCatalog(
      cfg({ ICEBERG_CATALOG_TYPE: 'rest', ICEBERG_CATALOG_URI: 'http://127.0.0.1:1' }),
      { io },
    )
    expect(c.type).toBe('rest')
  })

  it('hadoop uses the warehouse, and refuses an S3 store without conditional writes unless allowed', async () => {
    expect((await createCatalog(cfg({ ICEBERG_CATALOG_TYPE: 'hadoop' }), { io })).type).toBe('hadoop')
    const s3 = new S3FileIO({ region: 'us-east-1', conditionalWrites: false })
    const env = {
      ICEBERG_CATALOG_TYPE: 'hadoop',
      ICEBERG_S3_BUCKET: 'b',
      ICEBERG_S3_CONDITIONAL_WRITES: 'false',
    }
    await expect(createCatalog(cfg(env), { io: s3 })).rejects.toThrow(ConfigError)
    const warnings: string[] = []
    const allowed = { ...env, ICEBERG_HADOOP_ALLOW_UNSAFE_COMMITS: 'true' }
    expect((await createCatalog(cfg(allowed), { io: s3, warn: (m) => warnings.push(m) })).type).toBe('hadoop')
    expect(warnings.join()).toMatch(/UNSAFE/)
  })

  it('glue talks to ICEBERG_CATALOG_URI (endpoint override) with the configured keys', async () => {
    const glue = await startGlueDouble() // recorded-behaviour double of the Glue API, not AWS
    try {
      const env = {
        ICEBERG_CATALOG_TYPE: 'glue',
        ICEBERG_CATALOG_URI: glue.endpoint,
        ICEBERG_S3_BUCKET: 'b',
        AWS_REGION: 'eu-central-1',
        AWS_ACCESS_KEY_ID: 'k',
        AWS_SECRET_ACCESS_KEY: 's',
      }
      const c = await createCatalog(cfg(env), { io })
      expect(c.type).toBe('glue')
      await c.createNamespaceIfAbsent(['analytics'])
      expect(await c.listNamespaces()).toEqual([['analytics']])
      await c.close()
    } finally {
      await glue.close()
    }
  })
})
