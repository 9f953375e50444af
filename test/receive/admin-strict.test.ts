/**
 * Issue 9 item 13: no silent coercions on the admin API, unknown fields refused, and one admin
 * check with one error shape for /api/sites and /api/admin/flush.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestReceiver, ADMIN, type TestReceiver } from './support.ts'
import { adminFlushRoute } from '../../src/receive/admin-flush.ts'

let r: TestReceiver
let flushes = 0
beforeAll(async () => {
  r = await startTestReceiver(
    {},
    {
      plugins: [
        (app) =>
          app.register(adminFlushRoute, {
            adminToken: 'admin-token',
            flush: async () => {
              flushes++
              return { pa_events: [], pa_sessions: [], pa_rejected: [] }
            },
          }),
      ],
    },
  )
})
afterAll(() => r.close())

describe('strict admin bodies', () => {
  it('PUT {"domains":"notalist"} is a 400 naming domains, and nothing is stored', async () => {
    const site = await r.sites.create({ name: 'A', domains: ['a.example'] })
    const res = await r.app.inject({
      method: 'PUT',
      url: `/api/sites/${site.id}`,
      headers: ADMIN,
      payload: { domains: 'notalist' },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toMatchObject({ code: 'bad-request', status: 400, field: 'body.domains' })
    expect((await r.sites.get(site.id))?.domains).toEqual(['a.example'])
  })

  it('wrong scalar types are not coerced', async () => {
    for (const payload of [
      { name: 5, domains: [] },
      { name: 'x', domains: [], allowSubdomains: 'yes' },
    ]) {
      const res = await r.app.inject({ method: 'POST', url: '/api/sites', headers: ADMIN, payload })
      expect(res.statusCode, res.body).toBe(400)
    }
  })

  it('unknown fields are refused with a 400 naming them (POST and PUT)', async () => {
    const post = await r.app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: ADMIN,
      payload: { name: 'B', domains: ['b.example'], colour: 'red' },
    })
    expect(post.statusCode).toBe(400)
    expect(post.json().error.field).toBe('body.colour')
    const site = await r.sites.create({ name: 'C', domains: ['c.example'] })
    const put = await r.app.inject({
      method: 'PUT',
      url: `/api/sites/${site.id}`,
      headers: ADMIN,
      payload: { name: 'C2', deletedAt: null },
    })
    expect(put.statusCode).toBe(400)
    expect(put.json().error.field).toBe('body.deletedAt')
    expect((await r.sites.get(site.id))?.name).toBe('C')
  })

  it('querystrings still take their wire form (?includeDeleted=true)', async () => {
    const res = await r.app.inject({ method: 'GET', url: '/api/sites?includeDeleted=true', headers: ADMIN })
    expect(res.statusCode).toBe(200)
  })
})

describe('one admin check, one error shape', () => {
  const cases = [
    { headers: {}, status: 401, code: 'unauthorized' },
    { headers: { authorization: 'Bearer wrong' }, status: 403, code: 'forbidden' },
  ]
  it('/api/admin/flush answers like /api/sites: 401 without a token, 403 with a wrong one', async () => {
    for (const c of cases) {
      const flush = await r.app.inject({ method: 'POST', url: '/api/admin/flush', headers: c.headers })
      const sites = await r.app.inject({ method: 'GET', url: '/api/sites', headers: c.headers })
      for (const res of [flush, sites]) {
        expect(res.statusCode).toBe(c.status)
        expect(Object.keys(res.json())).toEqual(['error'])
        expect(res.json().error).toMatchObject({ code: c.code, status: c.status })
      }
    }
    expect(flushes).toBe(0)
    const ok = await r.app.inject({ method: 'POST', url: '/api/admin/flush', headers: ADMIN })
    expect(ok.statusCode).toBe(200)
    expect(flushes).toBe(1)
  })
})
