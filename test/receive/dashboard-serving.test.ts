/**
 * How Floe serves the dashboard: the app's HTML with a strict CSP and no-cache (revalidated by
 * ETag), hashed assets cached for a year as immutable and gzip-compressed, client-side routes
 * answered with the app, unknown assets 404 in Floe's error shape, and `/` leading to the app.
 * Over real HTTP against the committed build.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { gunzipSync } from 'node:zlib'
import { request } from 'node:http'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DASHBOARD_CSP, DASHBOARD_DIST, dashboardPlugin } from '../../src/receive/dashboard.ts'

let app: FastifyInstance
let base: string

beforeAll(async () => {
  app = Fastify()
  await app.register(dashboardPlugin)
  base = await app.listen({ port: 0, host: '127.0.0.1' })
})
afterAll(() => app.close())

/** Raw GET (no automatic decompression), so Content-Encoding and the bytes can be checked. */
function get(url: string, headers: Record<string, string> = {}) {
  return new Promise<{
    status: number
    headers: Record<string, string | string[] | undefined>
    body: Buffer
  }>((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
      )
    })
      .on('error', reject)
      .end()
  })
}

const assets = readdirSync(path.join(DASHBOARD_DIST, 'assets'))
const js = assets.find((a) => a.endsWith('.js'))!

describe('dashboard serving', () => {
  it('answers the app with a strict CSP, no-cache and an ETag, and 304 on revalidation', async () => {
    const res = await get(`${base}/dashboard/`)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.headers['cache-control']).toBe('no-cache')
    expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP)
    expect(DASHBOARD_CSP).toContain("script-src 'self'")
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline')
    expect(res.headers['x-frame-options']).toBe('DENY')
    expect(res.body.toString()).toBe(readFileSync(path.join(DASHBOARD_DIST, 'index.html'), 'utf8'))
    // No inline script in the page: every <script> has a src.
    expect(res.body.toString().match(/<script(?![^>]*\ssrc=)[^>]*>/g)).toBeNull()
    const again = await get(`${base}/dashboard/`, { 'if-none-match': String(res.headers.etag) })
    expect(again.status).toBe(304)
  })

  it('answers client-side routes with the same app', async () => {
    for (const route of ['/dashboard/sites/abc?range=7d', '/dashboard/ops', '/dashboard/share']) {
      const res = await get(`${base}${route}`)
      expect(res.status, route).toBe(200)
      expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP)
      expect(res.body.toString()).toContain('<div id="app">')
    }
  })

  it('caches hashed assets for a year as immutable, gzip when accepted', async () => {
    const plain = await get(`${base}/dashboard/assets/${js}`)
    expect(plain.status).toBe(200)
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(plain.headers['content-type']).toBe('application/javascript; charset=utf-8')
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.body.equals(readFileSync(path.join(DASHBOARD_DIST, 'assets', js)))).toBe(true)
    const gz = await get(`${base}/dashboard/assets/${js}`, { 'accept-encoding': 'gzip, br' })
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gz.headers.vary).toBe('accept-encoding')
    expect(gunzipSync(gz.body).equals(plain.body)).toBe(true)
    expect(gz.body.length).toBeLessThan(plain.body.length / 2)
  })

  it('answers an unknown asset 404 in the error shape, not the app', async () => {
    const res = await get(`${base}/dashboard/assets/index-nothere.js`)
    expect(res.status).toBe(404)
    expect(JSON.parse(res.body.toString())).toEqual({
      error: { message: '/dashboard/assets/index-nothere.js not found', code: 'not-found', status: 404 },
    })
  })

  it('leads / and /dashboard to /dashboard/', async () => {
    for (const p of ['/', '/dashboard']) {
      const res = await get(`${base}${p}`)
      expect(res.status, p).toBe(302)
      expect(res.headers.location).toBe('/dashboard/')
    }
  })
})
