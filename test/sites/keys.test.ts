import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { createTestDatabase } from '../support/pg.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { SqliteSql } from '../../src/storage/sqlite.ts'
import { SiteStore } from '../../src/sites/store.ts'
import { KeyStore, isKeyToken } from '../../src/sites/keys.ts'
import { KeyNotFoundError, SiteNotFoundError, ValidationError } from '../../src/errors.ts'

async function waitUntil(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('timed out waiting for condition')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('KeyStore on real Postgres', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let sql: PgSql
  let other: PgSql
  let sites: SiteStore
  let keys: KeyStore
  let replica: KeyStore
  let siteId: string
  beforeAll(async () => {
    db = await createTestDatabase('floe_keys')
    sql = new PgSql(db.url)
    other = new PgSql(db.url)
    sites = await SiteStore.open(sql)
    keys = await KeyStore.open(sql)
    // A second process on the same database, with a cache long enough that only NOTIFY can clear it.
    replica = await KeyStore.open(other, { cacheTtlMs: 600_000 })
    await KeyStore.open(sql) // DDL is idempotent
    siteId = (await sites.create({ name: 'Blog', domains: ['blog.example'] })).id
  })
  afterAll(async () => {
    await other.close()
    await sql.close()
    await db.drop()
  })

  it('creates a key whose token resolves to it, and stores only the token hash', async () => {
    const { key, token } = await keys.create(siteId, 'read', 'Grafana')
    expect(isKeyToken(token)).toBe(true)
    expect(token.startsWith('floe_read_')).toBe(true)
    expect(key).toMatchObject({ siteId, kind: 'read', label: 'Grafana', revokedAt: null })
    expect(await keys.resolve(token)).toEqual(key)
    const { rows } = await sql.query<Record<string, unknown>>(
      'SELECT * FROM floe_site_keys WHERE key_id = $1',
      [key.id],
    )
    expect(JSON.stringify(rows)).not.toContain(token)
    expect(rows[0].token_sha256).toBe(createHash('sha256').update(token).digest('hex'))
  })

  it('lists live keys, and revoked ones only when asked', async () => {
    const a = await keys.create(siteId, 'write')
    const b = await keys.create(siteId, 'share')
    await keys.revoke(siteId, a.key.id)
    const live = (await keys.list(siteId)).map((k) => k.id)
    expect(live).toContain(b.key.id)
    expect(live).not.toContain(a.key.id)
    const all = await keys.list(siteId, { includeRevoked: true })
    expect(all.find((k) => k.id === a.key.id)?.revokedAt).toEqual(expect.any(String))
  })

  it('a revoked key stops resolving here at once and on another replica via NOTIFY', async () => {
    const { key, token } = await keys.create(siteId, 'read')
    expect(await replica.resolve(token)).toEqual(key) // now cached on the replica for 10 minutes
    const revoked = await keys.revoke(siteId, key.id)
    expect(revoked.revokedAt).not.toBeNull()
    expect(await keys.resolve(token)).toBeNull()
    await waitUntil(async () => (await replica.resolve(token)) === null)
    // Revoking again is idempotent and keeps the first revocation time.
    expect((await keys.revoke(siteId, key.id)).revokedAt).toBe(revoked.revokedAt)
  })

  it('a key created on one replica resolves on another that had cached the miss', async () => {
    const fake = `floe_read_${'A'.repeat(43)}`
    expect(await replica.resolve(fake)).toBeNull()
    const { token } = await keys.create(siteId, 'read')
    await waitUntil(async () => (await replica.resolve(token)) !== null)
  })

  it('keys of a deleted site stop resolving', async () => {
    const s = await sites.create({ name: 'Gone', domains: ['gone.example'] })
    const { token } = await keys.create(s.id, 'read')
    await sites.softDelete(s.id)
    await keys.revoke(siteId, (await keys.create(siteId, 'read')).key.id) // any change clears caches
    expect(await keys.resolve(token)).toBeNull()
    await expect(keys.create(s.id, 'read')).rejects.toBeInstanceOf(SiteNotFoundError)
  })

  it('refuses bad input with the field named, and unknown ids with 404 errors', async () => {
    await expect(keys.create(siteId, 'admin' as never)).rejects.toMatchObject({ field: 'kind' })
    await expect(keys.create(siteId, 'read', 'x'.repeat(201))).rejects.toBeInstanceOf(ValidationError)
    await expect(keys.create('not-a-uuid', 'read')).rejects.toBeInstanceOf(SiteNotFoundError)
    await expect(keys.revoke(siteId, '00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(
      KeyNotFoundError,
    )
    expect(await keys.resolve('not a token')).toBeNull()
    expect(await keys.resolve(`floe_read_${'B'.repeat(43)}`)).toBeNull()
  })
})

describe('KeyStore on the embedded SQLite', () => {
  it('creates, resolves and revokes with the same SQL', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'floe-keys-'))
    const sql = SqliteSql.open(path.join(dir, 'floe.sqlite'))
    try {
      const sites = await SiteStore.open(sql)
      const keys = await KeyStore.open(sql)
      const site = await sites.create({ name: 'Embedded', domains: ['localhost'] })
      const { key, token } = await keys.create(site.id, 'share')
      expect(await keys.resolve(token)).toEqual(key)
      await keys.revoke(site.id, key.id)
      expect(await keys.resolve(token)).toBeNull()
    } finally {
      await sql.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
