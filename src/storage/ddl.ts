/**
 * Floe's own tables (sites, keys, sampling rules, signing secrets, the idempotency ledger) are
 * created on start by every replica. Two `CREATE TABLE IF NOT EXISTS` running at once can still
 * collide in Postgres's catalog (`duplicate key value violates unique constraint
 * "pg_type_typname_nsp_index"`), so replicas starting together take one transaction-scoped advisory
 * lock first: the second waits, then finds the tables there. The JDBC catalog's DDL takes the same
 * lock (commit/jdbc.ts). The embedded SQLite file has one process, which locks it: no lock to take
 * there, and each statement is put in SQLite's terms by its dialect.
 */
import type { SqlClient } from './sql.ts'

/** The advisory lock key every DDL of Floe's takes ('Floe' in ASCII). */
export const DDL_LOCK_KEY = 0x466c6f65

/** The statements of a `.sql` file: comments removed, split on `;` (one per query, as PGlite needs). */
export function ddlStatements(text: string): string[] {
  return text
    .replace(/--.*$/gm, '')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** Runs a DDL file's statements in one transaction, serialised with every other replica's. */
export async function applyDdl(sql: Pick<SqlClient, 'transaction' | 'dialect'>, text: string): Promise<void> {
  const { dialect } = sql
  await sql.transaction(async (tx) => {
    if (dialect.ddlLock) await tx.query(dialect.ddlLock, [DDL_LOCK_KEY])
    for (const stmt of ddlStatements(text)) {
      // A column added to an existing table: SQLite has no ADD COLUMN IF NOT EXISTS, so ask first.
      const added = /^ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+IF\s+NOT\s+EXISTS\s+(\w+)/i.exec(stmt)
      if (added && (await tx.query(dialect.columnExists(added[1], added[2]))).rows.length > 0) continue
      await tx.query(dialect.ddl(stmt))
    }
  })
}

/**
 * A store's tables, created on first use rather than at construction (a store may be built before
 * its database answers): the DDL runs once per process, and a failure is not remembered, so the
 * next call tries again.
 */
export function ddlOnFirstUse(
  sql: Pick<SqlClient, 'transaction' | 'dialect'>,
  ...texts: string[]
): () => Promise<void> {
  let ready: Promise<void> | undefined
  return () =>
    (ready ??= (async () => {
      for (const text of texts) await applyDdl(sql, text)
    })().catch((err: unknown) => {
      ready = undefined
      throw err
    }))
}
