/** The storage factory picks what the config names. */
import { afterAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadConfig } from '../../src/config.ts'
import { LocalFileIO, PgSql, S3FileIO, openFileIO, openSql, pgliteDir } from '../../src/storage/index.ts'
import { PGliteSql } from '../../src/storage/pglite.ts'
import { createTestDatabase } from '../support/pg.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'floe-storage-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('openFileIO', () => {
  it('is the local folder by default', () => {
    const io = openFileIO(loadConfig({ FLOE_DATA_DIR: dir }, dir))
    expect(io).toBeInstanceOf(LocalFileIO)
    expect(io.conditionalWrites).toBe(true)
  })

  it('is S3 when a bucket is configured; conditional writes on unless switched off', () => {
    const env = { ICEBERG_S3_BUCKET: 'b', ICEBERG_S3_ENDPOINT: 'http://127.0.0.1:3900', AWS_REGION: 'garage' }
    const io = openFileIO(loadConfig(env, dir))
    expect(io).toBeInstanceOf(S3FileIO)
    expect(io.conditionalWrites).toBe(true)
    const off = openFileIO(loadConfig({ ...env, ICEBERG_S3_CONDITIONAL_WRITES: 'false' }, dir))
    expect(off.conditionalWrites).toBe(false)
  })

  it("takes the multipart part size from ICEBERG_S3_PART_SIZE_MB (8 by default, at least S3's 5)", () => {
    const env = { ICEBERG_S3_BUCKET: 'b', ICEBERG_S3_ENDPOINT: 'http://127.0.0.1:3900' }
    expect(loadConfig(env, dir).iceberg.s3?.partSizeBytes).toBe(8 * 1024 * 1024)
    expect(loadConfig({ ...env, ICEBERG_S3_PART_SIZE_MB: '16' }, dir).iceberg.s3?.partSizeBytes).toBe(
      16 * 1024 * 1024,
    )
    expect(() => loadConfig({ ...env, ICEBERG_S3_PART_SIZE_MB: '4' }, dir)).toThrow(/ICEBERG_S3_PART_SIZE_MB/)
  })
})

describe('openSql', () => {
  it('is node-postgres when DATABASE_URL is set', async () => {
    const db = await createTestDatabase()
    try {
      const sql = await openSql(loadConfig({ DATABASE_URL: db.url, APP_SECRET: 's' }, dir))
      expect(sql).toBeInstanceOf(PgSql)
      expect((await sql.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      await sql.close()
    } finally {
      await db.drop()
    }
  })

  it('is PGlite persisted under <dataDir>/pglite when DATABASE_URL is unset', async () => {
    const config = loadConfig({ FLOE_DATA_DIR: path.join(dir, 'data') }, dir)
    const sql = await openSql(config)
    try {
      expect(sql).toBeInstanceOf(PGliteSql)
      expect(pgliteDir(config)).toBe(path.join(dir, 'data', 'pglite'))
      expect(existsSync(path.join(dir, 'data', 'pglite', 'PG_VERSION'))).toBe(true)
      await sql.query('CREATE TABLE t(x int)')
      await sql.query('INSERT INTO t VALUES ($1)', [42])
    } finally {
      await sql.close()
    }
    // Persisted in the folder: a restart sees the data.
    const again = await openSql(config)
    try {
      expect((await again.query<{ x: number }>('SELECT x FROM t')).rows).toEqual([{ x: 42 }])
    } finally {
      await again.close()
    }
  })
})
