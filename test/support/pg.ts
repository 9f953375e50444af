/**
 * Real PostgreSQL for tests (127.0.0.1:5432, user postgres, trust auth; npm test's pretest starts it).
 * Each call creates a fresh, uniquely named database so test files never share catalog state.
 */
import pg from 'pg'
import { randomUUID } from 'node:crypto'

export const PG_ADMIN_URL = process.env.FLOE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export async function createTestDatabase(
  prefix = 'floe_test',
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`)
  return {
    url,
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    },
  }
}
