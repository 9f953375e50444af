/** The same SqlClient contract on real Postgres (node-postgres), on the embedded SQLite file and on PGlite. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PgSql } from '../../src/storage/pg.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { PGliteSql } from '../../src/storage/pglite.ts'
import { SqliteSql } from '../../src/storage/sqlite.ts'
import type { SqlClient } from '../../src/storage/sql.ts'
import { createTestDatabase } from '../support/pg.ts'

let dropDb: (() => Promise<void>) | undefined
const clients: Record<string, SqlClient> = {}
const dir = mkdtempSync(path.join(tmpdir(), 'floe-sql-'))

beforeAll(async () => {
  const db = await createTestDatabase()
  dropDb = db.drop
  clients.pg = new PgSql(db.url)
  clients.pglite = await PGliteSql.open()
  clients.sqlite = SqliteSql.open(path.join(dir, 'floe.sqlite'))
})

afterAll(async () => {
  for (const c of Object.values(clients)) await c.close()
  await dropDb?.()
  rmSync(dir, { recursive: true, force: true })
})

describe.each(['pg', 'pglite', 'sqlite'])('%s SqlClient', (kind) => {
  const sql = () => clients[kind]

  it('runs $1 parameters and reports affected rows for INSERT/UPDATE/DELETE and returned rows for SELECT', async () => {
    await sql().query('CREATE TABLE kv(k VARCHAR(10) PRIMARY KEY, v VARCHAR(10))')
    const ins = await sql().query('INSERT INTO kv (k, v) VALUES ($1, $2), ($3, $4)', ['a', '1', 'b', '2'])
    expect(ins.rowCount).toBe(2)
    // The compare-and-swap shape the JDBC catalog relies on: 1 when the old value matched, 0 otherwise.
    const hit = await sql().query('UPDATE kv SET v = $1 WHERE k = $2 AND v = $3', ['9', 'a', '1'])
    expect(hit.rowCount).toBe(1)
    const miss = await sql().query('UPDATE kv SET v = $1 WHERE k = $2 AND v = $3', ['8', 'a', '1'])
    expect(miss.rowCount).toBe(0)
    const sel = await sql().query<{ k: string; v: string }>('SELECT k, v FROM kv ORDER BY k')
    expect(sel.rows).toEqual([
      { k: 'a', v: '9' },
      { k: 'b', v: '2' },
    ])
    expect(sel.rowCount).toBe(2)
    expect((await sql().query('DELETE FROM kv WHERE k = $1', ['zzz'])).rowCount).toBe(0)
  })

  it('commits a transaction and rolls it back on error', async () => {
    await sql().transaction(async (tx) => {
      await tx.query('INSERT INTO kv (k, v) VALUES ($1, $2)', ['t1', 'x'])
      await tx.query('UPDATE kv SET v = $1 WHERE k = $2', ['y', 't1'])
    })
    await expect(
      sql().transaction(async (tx) => {
        await tx.query('INSERT INTO kv (k, v) VALUES ($1, $2)', ['t2', 'x'])
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    const rows = (
      await sql().query<{ k: string; v: string }>("SELECT k, v FROM kv WHERE k LIKE 't%' ORDER BY k")
    ).rows
    expect(rows).toEqual([{ k: 't1', v: 'y' }])
  })

  it('surfaces unique violations with the Postgres SQLSTATE code 23505', async () => {
    const err = await sql()
      .query('INSERT INTO kv (k, v) VALUES ($1, $2)', ['a', 'dup'])
      .catch((e: unknown) => e)
    expect((err as { code?: string }).code).toBe('23505')
  })
})
