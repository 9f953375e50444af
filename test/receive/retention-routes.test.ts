/**
 * The retention settings through the admin API: `retentionDays` on a site (strict schema, 400
 * naming the field, null to fall back to the default, stored and read back from Postgres), and
 * `POST /api/admin/maintenance` with `dryRun` (only retention may be named with it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestReceiver, ADMIN, type TestReceiver } from './support.ts'
import { adminMaintenanceRoute } from '../../src/receive/admin-maintenance.ts'
import type { RunRequest } from '../../src/maintenance/runner.ts'

let r: TestReceiver
const runs: RunRequest[] = []
beforeAll(async () => {
  r = await startTestReceiver(
    {},
    {
      plugins: [
        (app) =>
          app.register(adminMaintenanceRoute, {
            adminToken: 'admin-token',
            run: async (req) => {
              runs.push(req)
              return { startedAt: new Date().toISOString(), tables: {} }
            },
          }),
      ],
    },
  )
})
afterAll(() => r.close())

describe('retention settings', () => {
  it('retentionDays is set, read back, cleared with null, and refused out of range naming the field', async () => {
    const created = await r.app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: ADMIN,
      payload: { name: 'Shop', domains: ['shop.example.com'], retentionDays: 90 },
    })
    expect(created.statusCode).toBe(201)
    const id = created.json().id as string
    expect(created.json().retentionDays).toBe(90)
    expect((await r.sites.retentionDays()).get(id)).toBe(90)

    for (const bad of [0, -1, 1.5, '30', 36_501]) {
      const res = await r.app.inject({
        method: 'PUT',
        url: `/api/sites/${id}`,
        headers: ADMIN,
        payload: { retentionDays: bad },
      })
      expect(res.statusCode, String(bad)).toBe(400)
      expect(res.body).toContain('retentionDays')
    }
    const other = await r.app.inject({
      method: 'PUT',
      url: `/api/sites/${id}`,
      headers: ADMIN,
      payload: { name: 'Renamed' },
    })
    expect(other.json()).toMatchObject({ name: 'Renamed', retentionDays: 90 })
    const cleared = await r.app.inject({
      method: 'PUT',
      url: `/api/sites/${id}`,
      headers: ADMIN,
      payload: { retentionDays: null },
    })
    expect(cleared.json().retentionDays).toBeNull()
    expect((await r.sites.retentionDays()).has(id)).toBe(false)
    const read = await r.app.inject({ method: 'GET', url: `/api/sites/${id}`, headers: ADMIN })
    expect(read.json().retentionDays).toBeNull()
  })

  it('a maintenance dry run plans retention only', async () => {
    const ok = await r.app.inject({
      method: 'POST',
      url: '/api/admin/maintenance',
      headers: ADMIN,
      payload: { dryRun: true, tables: ['pa_events'] },
    })
    expect(ok.statusCode).toBe(200)
    expect(runs.at(-1)).toEqual({ dryRun: true, tables: ['pa_events'], parts: undefined })
    const bad = await r.app.inject({
      method: 'POST',
      url: '/api/admin/maintenance',
      headers: ADMIN,
      payload: { dryRun: true, parts: ['retention', 'compaction'] },
    })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.field).toBe('parts')
    const unknown = await r.app.inject({
      method: 'POST',
      url: '/api/admin/maintenance',
      headers: ADMIN,
      payload: { parts: ['retention'], dryRun: 'yes' },
    })
    expect(unknown.statusCode).toBe(400)
  })
})
