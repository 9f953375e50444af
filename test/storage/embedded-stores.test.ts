/**
 * Everything Floe keeps in its embedded SQLite file besides the catalog (contract.test.ts and
 * jdbc.test.ts cover that), with the store code Postgres runs (test/sites, test/buffer/claims,
 * test/maintenance on the real Postgres; PGlite speaks the same dialect): sites (arrays,
 * booleans, timestamps, soft delete), keys, signing secrets and the replay guard, sampling rules,
 * the idempotency ledger (claims, the window, takeover, held, release, cleanup) and the
 * maintenance lease (expiry by the database's clock).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { PgLedger } from '../../src/idempotency/pg-ledger.ts'
import { MaintenanceLeases } from '../../src/maintenance/lease.ts'
import { KeyStore } from '../../src/sites/keys.ts'
import { SamplingStore } from '../../src/sites/sampling.ts'
import { SecretStore } from '../../src/sites/secrets.ts'
import { SiteStore } from '../../src/sites/store.ts'
import type { SqlClient } from '../../src/storage/sql.ts'
import { SqliteSql } from '../../src/storage/sqlite.ts'
import type { Row } from '../../src/rows.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'floe-embedded-stores-'))
const clients: Record<string, SqlClient> = {}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  clients.sqlite = SqliteSql.open(path.join(dir, 'floe.sqlite'))
})

afterAll(async () => {
  for (const c of Object.values(clients)) await c.close()
  rmSync(dir, { recursive: true, force: true })
})

describe.each(['sqlite'])('stores on embedded %s', (kind) => {
  const sql = () => clients[kind]
  let sites: SiteStore

  beforeAll(async () => {
    sites = await SiteStore.open(sql())
  })

  it('sites: create, read, update (domains array, boolean), list, soft delete', async () => {
    const before = Date.now()
    const s = await sites.create({ name: 'Blog', domains: ['b.example', 'www.b.example'] })
    expect(s).toMatchObject({ name: 'Blog', domains: ['b.example', 'www.b.example'], allowSubdomains: false })
    expect(Date.parse(s.createdAt)).toBeGreaterThanOrEqual(before - 1000)
    expect(await sites.get(s.id)).toEqual(s)
    const u = await sites.update(s.id, { domains: [], allowSubdomains: true })
    expect(u).toMatchObject({ name: 'Blog', domains: [], allowSubdomains: true, deletedAt: null })
    expect(Date.parse(u.updatedAt)).toBeGreaterThanOrEqual(Date.parse(s.updatedAt))
    const other = await sites.create({ name: 'Shop', domains: ['shop.example'] })
    expect((await sites.list()).map((x) => x.id)).toEqual([s.id, other.id])
    const d = await sites.softDelete(s.id)
    expect(d.deletedAt).not.toBeNull()
    expect((await sites.list()).map((x) => x.id)).toEqual([other.id])
    expect((await sites.list({ includeDeleted: true })).map((x) => x.id)).toEqual([s.id, other.id])
    await expect(sites.create({ name: 'Again', domains: [] }, s.id)).rejects.toMatchObject({ field: 'id' })
    await expect(sites.update(s.id, { name: 'x' })).rejects.toThrow(/not found|unknown/i)
  })

  it('keys: create, list, resolve, revoke; a deleted site’s keys stop resolving', async () => {
    const keys = await KeyStore.open(sql())
    const site = await sites.create({ name: 'Keys', domains: [] })
    const read = await keys.create(site.id, 'read', 'ci')
    const share = await keys.create(site.id, 'share')
    expect(await keys.resolve(read.token)).toEqual(read.key)
    expect((await keys.list(site.id)).map((k) => k.id).sort()).toEqual([read.key.id, share.key.id].sort())
    const revoked = await keys.revoke(site.id, read.key.id)
    expect(revoked.revokedAt).not.toBeNull()
    expect(await keys.revoke(site.id, read.key.id)).toEqual(revoked) // idempotent, same time
    expect(await keys.resolve(read.token)).toBeNull()
    expect((await keys.list(site.id)).map((k) => k.id)).toEqual([share.key.id])
    expect(await keys.list(site.id, { includeRevoked: true })).toHaveLength(2)
    await sites.softDelete(site.id)
    expect(await KeyStore.open(sql()).then((k) => k.resolve(share.token))).toBeNull()
  })

  it('secrets: rotate, get, remove; a signature is accepted once until it expires', async () => {
    const secrets = await SecretStore.open(sql(), { cacheTtlMs: 1 })
    const site = await sites.create({ name: 'Signed', domains: [] })
    expect(await secrets.get(site.id)).toBeNull()
    const first = await secrets.rotate(site.id)
    await sleep(5)
    expect(await secrets.get(site.id)).toBe(first.secret)
    const second = await secrets.rotate(site.id)
    expect(second.secret).not.toBe(first.secret)
    expect(Date.parse(second.createdAt)).toBeGreaterThanOrEqual(Date.parse(first.createdAt))
    await sleep(5)
    expect(await secrets.get(site.id)).toBe(second.secret)
    expect(await secrets.remove(site.id)).toBe(true)
    expect(await secrets.remove(site.id)).toBe(false)

    const sig = `sig-${kind}`
    expect(await secrets.firstUse(sig, new Date(Date.now() + 60_000))).toBe(true)
    expect(await secrets.firstUse(sig, new Date(Date.now() + 60_000))).toBe(false)
    expect(await secrets.firstUse(`${sig}-old`, new Date(Date.now() - 1000))).toBe(true)
    // Only the expired one goes: expiry is compared with the database's now().
    expect(await secrets.cleanupReplays()).toBe(1)
    expect(await secrets.firstUse(sig, new Date(Date.now() + 60_000))).toBe(false)
  })

  it('sampling: rules replace each other and read back with their numbers', async () => {
    const sampling = await SamplingStore.open(sql(), { cacheTtlMs: 1 })
    const site = await sites.create({ name: 'Sampled', domains: [] })
    const rules = [
      { eventType: '*', mode: 'random' as const, rate: 0.25, windowSeconds: null },
      { eventType: 'pageview', mode: 'window' as const, rate: 0.5, windowSeconds: 60 },
    ]
    expect(await sampling.set(site.id, rules)).toEqual(rules)
    await sleep(5)
    expect(await sampling.get(site.id)).toEqual(rules)
    expect(await sampling.set(site.id, [rules[1]])).toEqual([rules[1]])
    await expect(sampling.set('00000000-0000-4000-8000-000000000000', rules)).rejects.toThrow()
  })

  it('idempotency ledger: one claim per key within the window, takeover after it, held, release, cleanup', async () => {
    const ledger = await PgLedger.open(sql(), { windowSeconds: 1 })
    const site = `site-${kind}`
    const row = (eventId: string): Row => ({
      source: 'v1',
      site_id: site,
      event_id: eventId,
      received_at: Date.now() * 1000, // within the window: no claim means never acknowledged
    })
    const [a, b, a2] = [row('a'), row('b'), row('a')]
    // `a2` repeats `a` in the same request: the first counts.
    expect(await ledger.claim('w1', 1, [a, b, a2])).toEqual(new Set([a2]))
    const c = row('c')
    const dupA = row('a')
    expect(await ledger.claim('w2', 1, [dupA, c])).toEqual(new Set([dupA]))
    expect(await ledger.held('w1', [{ seq: 1, rows: [a, b] }])).toEqual(new Set([a, b]))
    expect(await ledger.held('w2', [{ seq: 1, rows: [dupA, c] }])).toEqual(new Set([c]))
    await ledger.release('w2', { seqs: [1] })
    expect(await ledger.held('w2', [{ seq: 1, rows: [c] }])).toEqual(new Set())
    await ledger.release('w1', { fromSeq: 2 }) // nothing at seq >= 2
    expect(await ledger.held('w1', [{ seq: 1, rows: [a] }])).toEqual(new Set([a]))
    await sleep(1100) // past the 1 s window: another record may take the key over
    const late = row('a')
    expect(await ledger.claim('w3', 7, [late])).toEqual(new Set())
    expect(await ledger.held('w3', [{ seq: 7, rows: [late] }])).toEqual(new Set([late]))
    expect(await ledger.cleanup()).toBe(1) // b's claim ran out; a's is w3's now
    await ledger.release('w1', { fromSeq: 0 })
  })

  it('maintenance lease: one holder until it expires by the database clock', async () => {
    const mine = new MaintenanceLeases(sql(), `me-${kind}`, 300)
    const theirs = new MaintenanceLeases(sql(), `them-${kind}`, 300)
    expect(await mine.tryAcquire('t1')).toBe(true)
    expect(await mine.tryAcquire('t1')).toBe(true) // already ours
    expect(await theirs.tryAcquire('t1')).toBe(false)
    expect(await mine.holder('t1')).toBe(`me-${kind}`)
    expect(await mine.renew('t1')).toBe(true)
    expect(await mine.stillHeld('t1')).toBe(true)
    await sleep(400)
    expect(await mine.stillHeld('t1')).toBe(false)
    expect(await mine.holder('t1')).toBeUndefined()
    expect(await theirs.tryAcquire('t1')).toBe(true)
    expect(await mine.renew('t1')).toBe(false)
    await mine.release('t1') // not ours: no effect
    expect(await theirs.holder('t1')).toBe(`them-${kind}`)
    await theirs.release('t1')
    expect(await theirs.holder('t1')).toBeUndefined()
  })
})
