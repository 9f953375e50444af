import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestReceiver, ADMIN, type TestReceiver } from './support.ts'
import { authorizeSite, siteIdsFor, type SiteAuthOptions } from '../../src/receive/site-auth.ts'
import { AuthError } from '../../src/errors.ts'

let r: TestReceiver
let siteA: string
let siteB: string
let auth: SiteAuthOptions
beforeAll(async () => {
  r = await startTestReceiver()
  siteA = (await r.sites.create({ name: 'A', domains: ['a.example'] })).id
  siteB = (await r.sites.create({ name: 'B', domains: ['b.example'] })).id
  auth = { adminToken: r.config.adminToken, keys: r.keys, kinds: ['read', 'share'] }
})
afterAll(() => r.close())

const createKey = async (site: string, kind: string, label?: string) =>
  r.app.inject({ method: 'POST', url: `/api/sites/${site}/keys`, headers: ADMIN, payload: { kind, label } })

describe('/api/sites/:id/keys (admin)', () => {
  it('creates a key (token shown once), lists it without the token, revokes it', async () => {
    const created = await createKey(siteA, 'read', 'Grafana')
    expect(created.statusCode).toBe(201)
    const { key, token } = created.json()
    expect(token).toMatch(/^floe_read_[A-Za-z0-9_-]{43}$/)
    expect(key).toMatchObject({ siteId: siteA, kind: 'read', label: 'Grafana', revokedAt: null })

    const listed = await r.app.inject({ url: `/api/sites/${siteA}/keys`, headers: ADMIN })
    expect(listed.statusCode).toBe(200)
    expect(listed.body).not.toContain(token)
    expect(listed.json().keys.map((k: { id: string }) => k.id)).toContain(key.id)

    const revoked = await r.app.inject({
      method: 'DELETE',
      url: `/api/sites/${siteA}/keys/${key.id}`,
      headers: ADMIN,
    })
    expect(revoked.statusCode).toBe(200)
    expect(revoked.json().key.revokedAt).toEqual(expect.any(String))
    const after = await r.app.inject({ url: `/api/sites/${siteA}/keys`, headers: ADMIN })
    expect(after.json().keys.map((k: { id: string }) => k.id)).not.toContain(key.id)
  })

  it('needs the admin token; a site key cannot manage keys', async () => {
    expect((await r.app.inject({ url: `/api/sites/${siteA}/keys` })).statusCode).toBe(401)
    const { token } = (await createKey(siteA, 'read')).json()
    const withKey = await r.app.inject({
      url: `/api/sites/${siteA}/keys`,
      headers: { authorization: `Bearer ${token}` },
    })
    expect(withKey.statusCode).toBe(403)
  })

  it('400 naming the field for a bad kind or an unknown field; 404 for unknown sites and keys', async () => {
    const bad = await createKey(siteA, 'admin')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.field).toBe('body.kind')
    const extra = await r.app.inject({
      method: 'POST',
      url: `/api/sites/${siteA}/keys`,
      headers: ADMIN,
      payload: { kind: 'read', scope: 'all' },
    })
    expect(extra.statusCode).toBe(400)
    expect(extra.json().error.field).toBe('body.scope')
    expect((await createKey('00000000-0000-4000-8000-000000000000', 'read')).statusCode).toBe(404)
    const gone = await r.app.inject({
      method: 'DELETE',
      url: `/api/sites/${siteA}/keys/00000000-0000-4000-8000-000000000000`,
      headers: ADMIN,
    })
    expect(gone.statusCode).toBe(404)
  })
})

describe('authorizeSite', () => {
  const status = async (p: Promise<unknown>) =>
    p.then(
      () => 200,
      (e: unknown) => (e instanceof AuthError ? e.status : 500),
    )

  it('the admin token reads every site', async () => {
    expect(await authorizeSite({ headers: ADMIN }, siteB, auth)).toEqual({ by: 'admin' })
    expect(await siteIdsFor({ headers: ADMIN }, auth)).toBe('all')
  })

  it('a read key reads its own site from any of the accepted headers, and is 403 on another', async () => {
    const { token, key } = (await createKey(siteA, 'read')).json()
    for (const headers of [
      { authorization: `Bearer ${token}` },
      { 'x-umami-api-key': token },
      { 'x-umami-share-token': token },
    ])
      expect(await authorizeSite({ headers }, siteA, auth)).toMatchObject({ by: 'key', key: { id: key.id } })
    expect(await status(authorizeSite({ headers: { authorization: `Bearer ${token}` } }, siteB, auth))).toBe(
      403,
    )
    expect(await siteIdsFor({ headers: { authorization: `Bearer ${token}` } }, auth)).toEqual([siteA])
  })

  it('a key of a kind the route does not take is 403; none, unknown or revoked is 401', async () => {
    const write = (await createKey(siteA, 'write')).json()
    expect(await status(authorizeSite({ headers: { 'x-write-key': write.token } }, siteA, auth))).toBe(403)
    expect(await status(authorizeSite({ headers: {} }, siteA, auth))).toBe(401)
    expect(await status(authorizeSite({ headers: { authorization: 'Bearer nope' } }, siteA, auth))).toBe(401)
    const read = (await createKey(siteA, 'read')).json()
    await r.app.inject({ method: 'DELETE', url: `/api/sites/${siteA}/keys/${read.key.id}`, headers: ADMIN })
    expect(
      await status(authorizeSite({ headers: { authorization: `Bearer ${read.token}` } }, siteA, auth)),
    ).toBe(401)
  })
})
