import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase } from '../support/pg.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { SqliteSql } from '../../src/storage/sqlite.ts'
import { SiteStore } from '../../src/sites/store.ts'
import { normalizeDomain, originHost, originMatches, scriptSnippet } from '../../src/sites/site.ts'
import { SiteNotFoundError, ValidationError } from '../../src/errors.ts'
import { CorsAllowlist } from '../../src/receive/cors.ts'
import type { SqlClient } from '../../src/storage/sql.ts'

async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('timed out waiting for condition')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('SiteStore on real Postgres', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let sql: PgSql
  let store: SiteStore
  beforeAll(async () => {
    db = await createTestDatabase('floe_sites')
    sql = new PgSql(db.url)
    store = await SiteStore.open(sql)
    await SiteStore.open(sql) // DDL is idempotent
  })
  afterAll(async () => {
    await sql.close()
    await db.drop()
  })

  it('create/get/list/update/softDelete with timestamps', async () => {
    const s = await store.create({ name: ' Blog ', domains: ['Blog.Example', 'blog.example'] })
    expect(s).toMatchObject({
      name: 'Blog',
      domains: ['blog.example'],
      allowSubdomains: false,
      deletedAt: null,
    })
    expect(await store.get(s.id)).toEqual(s)
    expect(await store.get(s.id.toUpperCase())).toEqual(s)
    const u = await store.update(s.id, {
      domains: ['blog.example', 'www.blog.example'],
      allowSubdomains: true,
    })
    expect(u).toMatchObject({
      name: 'Blog',
      domains: ['blog.example', 'www.blog.example'],
      allowSubdomains: true,
    })
    expect((await store.list()).map((x) => x.id)).toContain(s.id)
    const d = await store.softDelete(s.id)
    expect(d.deletedAt).not.toBeNull()
    expect((await store.list()).map((x) => x.id)).not.toContain(s.id)
    expect((await store.list({ includeDeleted: true })).map((x) => x.id)).toContain(s.id)
    await expect(store.update(s.id, { name: 'x' })).rejects.toThrow(SiteNotFoundError)
    await expect(store.create({ name: 'again', domains: [] }, s.id)).rejects.toThrow(ValidationError)
  })

  it('get is cached and invalidated by changes; listeners run before the change returns', async () => {
    const s = await store.create({ name: 'Cached', domains: ['c.example'] })
    expect((await store.get(s.id))?.name).toBe('Cached')
    // Change the row behind the store's back: the cache still answers...
    await sql.query(`UPDATE floe_sites SET name = 'Sneaky' WHERE site_id = $1`, [s.id])
    expect((await store.get(s.id))?.name).toBe('Cached')
    // ...until a change through the store invalidates it.
    const seen: string[] = []
    store.onChange(async (site) => {
      await new Promise((r) => setTimeout(r, 10))
      seen.push(site?.name ?? '(all)')
    })
    await store.update(s.id, { name: 'Renamed' })
    expect(seen).toEqual(['Renamed'])
    expect((await store.get(s.id))?.name).toBe('Renamed')
    // Unknown ids are cached as null too.
    expect(await store.get('22222222-2222-4222-8222-222222222222')).toBeNull()
    expect(await store.get('not-a-uuid')).toBeNull()
  })

  it("another process's change reaches this store's cache and listeners at once (LISTEN/NOTIFY)", async () => {
    // A second Floe process: its own pool and store on the same database.
    const otherSql = new PgSql(db.url)
    try {
      const other = await SiteStore.open(otherSql)
      const id = '33333333-3333-4333-8333-333333333333'
      expect(await store.get(id)).toBeNull() // cached as unknown here
      const heard: Array<string | null> = []
      store.onChange((site) => void heard.push(site?.name ?? null))

      await other.create({ name: 'Replica', domains: ['r.example'] }, id)
      await waitUntil(() => heard.includes('Replica'))
      expect((await store.get(id))?.name).toBe('Replica') // no 60 s wait for the cache
      await other.softDelete(id)
      await waitUntil(() => heard.filter((n) => n === 'Replica').length === 2)
      expect((await store.get(id))?.deletedAt).not.toBeNull()

      // The store's own changes are not echoed back to it.
      const before = heard.length
      await store.update((await store.create({ name: 'Own', domains: [] })).id, { name: 'Own 2' })
      await new Promise((r) => setTimeout(r, 200))
      expect(heard.slice(before)).toEqual(['Own', 'Own 2'])
    } finally {
      await otherSql.close()
    }
  })

  it('after the LISTEN connection is cut, it reconnects and re-reads everything', async () => {
    const otherSql = new PgSql(db.url)
    const mySql = new PgSql(db.url)
    try {
      const mine = await SiteStore.open(mySql)
      const other = await SiteStore.open(otherSql)
      const heard: Array<string | null> = []
      mine.onChange((site) => void heard.push(site === null ? '(resync)' : site.name))
      // Cut this store's LISTEN connection from the server side, as a Postgres restart would.
      await sql.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
      )
      await waitUntil(() => heard.includes('(resync)'))
      await other.create({ name: 'After reconnect', domains: [] })
      await waitUntil(() => heard.includes('After reconnect'))
    } finally {
      await otherSql.close()
      await mySql.close()
    }
  })

  it('validates input naming the field', async () => {
    await expect(store.create({ name: '', domains: [] })).rejects.toMatchObject({ field: 'name' })
    await expect(store.create({ name: 'x', domains: ['a b'] })).rejects.toMatchObject({ field: 'domains' })
  })
})

describe('SiteStore on SQLite (embedded default, same SQL)', () => {
  it('round-trips a site', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'floe-sites-'))
    const sql: SqlClient = SqliteSql.open(path.join(dir, 'floe.sqlite'))
    try {
      const store = await SiteStore.open(sql)
      const s = await store.create({ name: 'Embedded', domains: ['e.example'], allowSubdomains: true })
      expect(await store.get(s.id)).toEqual(s)
      expect((await store.softDelete(s.id)).deletedAt).not.toBeNull()
    } finally {
      await sql.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('domains and CORS matching', () => {
  it('normalises allowed-domain entries', () => {
    expect(normalizeDomain('https://Example.com:8443/path')).toBe('example.com')
    expect(normalizeDomain('localhost')).toBe('localhost')
    expect(normalizeDomain('127.0.0.1')).toBe('127.0.0.1')
    expect(() => normalizeDomain('exa mple.com')).toThrow(ValidationError)
    expect(() => normalizeDomain('')).toThrow(ValidationError)
  })

  it('origins match exactly, or as subdomains when allowed; never by suffix without a dot', () => {
    const site = { domains: ['example.com'], allowSubdomains: true }
    expect(originMatches('example.com', site)).toBe(true)
    expect(originMatches('a.b.example.com', site)).toBe(true)
    expect(originMatches('badexample.com', site)).toBe(false)
    expect(originMatches('a.example.com', { ...site, allowSubdomains: false })).toBe(false)
    expect(originHost('https://a.example.com:8443')).toBe('a.example.com')
    expect(originHost('null')).toBeNull()
    expect(originHost('file:///x')).toBeNull()
  })

  it('the allowlist ignores deleted sites', () => {
    const list = new CorsAllowlist()
    const base = { name: 'x', createdAt: '', updatedAt: '', retentionDays: null }
    list.rebuild([
      { ...base, id: '1', domains: ['live.example'], allowSubdomains: true, deletedAt: null },
      {
        ...base,
        id: '2',
        domains: ['gone.example'],
        allowSubdomains: false,
        deletedAt: '2026-01-01T00:00:00Z',
      },
    ])
    expect(list.allows('https://live.example')).toBe(true)
    expect(list.allows('http://www.live.example:3000')).toBe(true)
    expect(list.allows('https://gone.example')).toBe(false)
    expect(list.allows(undefined)).toBe(false)
  })

  it('snippet', () => {
    expect(scriptSnippet('https://f.example', 'abc')).toBe(
      '<script defer src="https://f.example/script.js" data-website-id="abc" data-host-url="https://f.example"></script>',
    )
  })
})
