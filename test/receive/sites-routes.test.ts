import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pino from 'pino'
import { startTestReceiver, ADMIN, type TestReceiver } from './support.ts'
import { buildReceiver } from '../../src/receive/server.ts'

let r: TestReceiver
beforeAll(async () => {
  r = await startTestReceiver()
})
afterAll(() => r.close())

describe('/api/sites (admin)', () => {
  it('401 without a token, 403 with a wrong one', async () => {
    expect((await r.app.inject({ method: 'GET', url: '/api/sites' })).statusCode).toBe(401)
    const wrong = await r.app.inject({
      method: 'GET',
      url: '/api/sites',
      headers: { authorization: 'Bearer nope' },
    })
    expect(wrong.statusCode).toBe(403)
  })

  it('create, read, list, update, soft delete', async () => {
    const created = await r.app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: ADMIN,
      payload: { name: 'Shop', domains: ['Shop.Example.com', 'https://example.org/'], allowSubdomains: true },
    })
    expect(created.statusCode).toBe(201)
    const site = created.json()
    expect(site).toMatchObject({
      name: 'Shop',
      domains: ['shop.example.com', 'example.org'],
      allowSubdomains: true,
      deletedAt: null,
    })
    expect(site.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(site.script).toBe(
      `<script defer src="https://floe.example.net/script.js" data-website-id="${site.id}" data-host-url="https://floe.example.net"></script>`,
    )
    const got = await r.app.inject({ method: 'GET', url: `/api/sites/${site.id}`, headers: ADMIN })
    expect(got.json().name).toBe('Shop')
    const listed = await r.app.inject({ method: 'GET', url: '/api/sites', headers: ADMIN })
    expect(listed.json().sites.map((s: { id: string }) => s.id)).toContain(site.id)

    const updated = await r.app.inject({
      method: 'PUT',
      url: `/api/sites/${site.id}`,
      headers: ADMIN,
      payload: { name: 'Shop 2' },
    })
    expect(updated.json()).toMatchObject({ name: 'Shop 2', domains: ['shop.example.com', 'example.org'] })
    expect(Date.parse(updated.json().updatedAt)).toBeGreaterThanOrEqual(Date.parse(site.updatedAt))

    const deleted = await r.app.inject({ method: 'DELETE', url: `/api/sites/${site.id}`, headers: ADMIN })
    expect(deleted.json().deletedAt).not.toBeNull()
    const after = await r.app.inject({ method: 'GET', url: '/api/sites', headers: ADMIN })
    expect(after.json().sites.map((s: { id: string }) => s.id)).not.toContain(site.id)
    const again = await r.app.inject({ method: 'DELETE', url: `/api/sites/${site.id}`, headers: ADMIN })
    expect(again.statusCode).toBe(404)
  })

  it('keeps a given Umami website id', async () => {
    const id = '3fa85f64-5717-4562-b3fc-2c963f66afa6'
    const res = await r.app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: ADMIN,
      payload: { id, name: 'Old', domains: ['old.example'] },
    })
    expect(res.json().id).toBe(id)
    const dup = await r.app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: ADMIN,
      payload: { id, name: 'Old', domains: [] },
    })
    expect(dup.statusCode).toBe(400)
    expect(dup.json().error.field).toBe('id')
  })

  it('400 naming the field for bad bodies, 404 for unknown ids', async () => {
    const noName = await r.app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: ADMIN,
      payload: { domains: [] },
    })
    expect(noName.statusCode).toBe(400)
    expect(noName.json().error.field).toBe('body.name')
    const badDomain = await r.app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: ADMIN,
      payload: { name: 'x', domains: ['not a host'] },
    })
    expect(badDomain.statusCode).toBe(400)
    expect(badDomain.json().error.field).toBe('domains')
    const unknown = await r.app.inject({
      method: 'GET',
      url: '/api/sites/22222222-2222-4222-8222-222222222222',
      headers: ADMIN,
    })
    expect(unknown.statusCode).toBe(404)
    const notUuid = await r.app.inject({ method: 'GET', url: '/api/sites/xyz', headers: ADMIN })
    expect(notUuid.statusCode).toBe(400)
  })
})

describe('health', () => {
  it('/healthz is up and /readyz reflects the injected check', async () => {
    expect((await r.app.inject('/healthz')).json()).toEqual({ status: 'ok' })
    expect((await r.app.inject('/readyz')).statusCode).toBe(200)
    const down = await buildReceiver({
      config: r.config,
      sites: r.sites,
      keys: r.keys,
      sink: r.sink,
      logger: pino({ level: 'silent' }),
      ready: async () => {
        throw new Error('catalog unreachable')
      },
    })
    const res = await down.app.inject('/readyz')
    expect(res.statusCode).toBe(503)
    // Details (internal addresses) only for the admin (issue 9 item 7).
    expect(res.json()).toEqual({ status: 'unavailable' })
    const wrong = await down.app.inject({ url: '/readyz', headers: { authorization: 'Bearer nope' } })
    expect(wrong.json()).toEqual({ status: 'unavailable' })
    const admin = await down.app.inject({ url: '/readyz', headers: ADMIN })
    expect(admin.statusCode).toBe(503)
    expect(admin.json()).toEqual({ status: 'unavailable', error: 'catalog unreachable' })
    expect((await down.app.inject('/healthz')).statusCode).toBe(200)
    await down.app.close()
  })
})
