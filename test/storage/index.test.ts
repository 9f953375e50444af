/** The storage factory picks what the config names. */
import { afterAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadConfig } from '../../src/config.ts'
import {
  LocalFileIO,
  PgSql,
  S3FileIO,
  embeddedDb,
  openFileIO,
  openSql,
  pgliteDir,
  sqliteFile,
} from '../../src/storage/index.ts'
import { PGliteSql } from '../../src/storage/pglite.ts'
import { SqliteSql } from '../../src/storage/sqlite.ts'
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

  it('is SQLite in <dataDir>/floe.sqlite when DATABASE_URL is unset, persisted across restarts', async () => {
    const config = loadConfig({ FLOE_DATA_DIR: path.join(dir, 'lite') }, dir)
    const logged: string[] = []
    const sql = await openSql(config, { log: (m) => logged.push(m) })
    try {
      expect(sql).toBeInstanceOf(SqliteSql)
      expect(sqliteFile(config)).toBe(path.join(dir, 'lite', 'floe.sqlite'))
      expect(logged).toEqual([`embedded database: SQLite at ${sqliteFile(config)}`])
      await sql.query('CREATE TABLE t(x int)')
      await sql.query('INSERT INTO t VALUES ($1)', [42])
    } finally {
      await sql.close()
    }
    expect(existsSync(pgliteDir(config))).toBe(false)
    const again = await openSql(config)
    try {
      expect((await again.query<{ x: number }>('SELECT x FROM t')).rows).toEqual([{ x: 42 }])
    } finally {
      await again.close()
    }
  })

  // Two PGlite starts on a folder (the first runs initdb in WASM): slow on a busy machine.
  it(
    'is PGlite under <dataDir>/pglite with FLOE_EMBEDDED_DB=pglite, and stays PGlite for that folder',
    { timeout: 180_000 },
    async () => {
      const dataDir = path.join(dir, 'data')
      const config = loadConfig({ FLOE_DATA_DIR: dataDir, FLOE_EMBEDDED_DB: 'pglite' }, dir)
      const sql = await openSql(config)
      try {
        expect(sql).toBeInstanceOf(PGliteSql)
        expect(pgliteDir(config)).toBe(path.join(dataDir, 'pglite'))
        expect(existsSync(path.join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true)
        await sql.query('CREATE TABLE t(x int)')
        await sql.query('INSERT INTO t VALUES ($1)', [42])
      } finally {
        await sql.close()
      }
      // A data folder made before SQLite was the default: without FLOE_EMBEDDED_DB it keeps its
      // PGlite (and says so), and no SQLite file appears beside it.
      const legacy = loadConfig({ FLOE_DATA_DIR: dataDir }, dir)
      expect(embeddedDb(legacy)).toBe('pglite')
      const logged: string[] = []
      const again = await openSql(legacy, { log: (m) => logged.push(m) })
      try {
        expect(again).toBeInstanceOf(PGliteSql)
        expect((await again.query<{ x: number }>('SELECT x FROM t')).rows).toEqual([{ x: 42 }])
      } finally {
        await again.close()
      }
      expect(logged[0]).toMatch(/PGlite at .*pglite, which holds this data folder's catalog and sites/)
      expect(existsSync(sqliteFile(legacy))).toBe(false)
      // Asking for SQLite there would start on an empty catalog beside the old one: refused.
      expect(() =>
        embeddedDb(loadConfig({ FLOE_DATA_DIR: dataDir, FLOE_EMBEDDED_DB: 'sqlite' }, dir)),
      ).toThrow(/FLOE_EMBEDDED_DB: is sqlite, but .*pglite holds this data folder's catalog and sites/)
    },
  )

  it('FLOE_EMBEDDED_DB takes sqlite or pglite only', () => {
    expect(() => loadConfig({ FLOE_EMBEDDED_DB: 'duckdb' }, dir)).toThrow(
      /FLOE_EMBEDDED_DB: must be one of sqlite, pglite/,
    )
    expect(loadConfig({}, dir).embeddedDb).toBeUndefined()
    expect(embeddedDb(loadConfig({ FLOE_DATA_DIR: path.join(dir, 'empty') }, dir))).toBe('sqlite')
  })
})
