/**
 * Who may send `/v1/events` (receive/write-auth.ts), through the real receiver, key store and
 * secret store on a real Postgres: write keys (Bearer or X-Write-Key), browser tokens minted with
 * the site's signing secret, and signed requests (X-Floe-Timestamp + X-Floe-Signature) once the
 * site has a secret: a bad, stale or replayed signature is a 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintBrowserToken } from '../../src/sites/browser-token.ts'
import { requestSignature } from '../../src/receive/write-auth.ts'
import { ADMIN, CHROME_UA, startTestReceiver, type TestReceiver } from './support.ts'

let r: TestReceiver
let siteId: string
let otherSite: string
let writeKey: string

beforeAll(async () => {
  r = await startTestReceiver({ RATE_LIMIT_IP_PER_MINUTE: '0', V1_BROWSER_TOKEN_MAX_TTL_SECONDS: '600' })
  siteId = (await r.sites.create({ name: 'Signed', domains: ['example.com'] })).id
  otherSite = (await r.sites.create({ name: 'Other', domains: ['example.org'] })).id
  writeKey = (await r.keys.create(siteId, 'write')).token
})

afterAll(async () => {
  await r?.close()
})

let n = 0
const envelope = (site = siteId) =>
  JSON.stringify({
    property_id: site,
    events: [{ event_id: `auth-${n++}`, type: 'pageview', ts: new Date().toISOString() }],
  })

const send = (body: string, headers: Record<string, string>) =>
  r.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json', 'user-agent': CHROME_UA, ...headers },
    payload: body,
  })

describe('/v1/events credentials', () => {
  it('write keys: Bearer or X-Write-Key; none, unknown, revoked, a read key or another site’s key are refused', async () => {
    expect((await send(envelope(), { authorization: `Bearer ${writeKey}` })).statusCode).toBe(200)
    expect((await send(envelope(), { 'x-write-key': writeKey })).statusCode).toBe(200)
    expect((await send(envelope(), {})).statusCode).toBe(401)
    expect((await send(envelope(), { 'x-write-key': `floe_write_${'A'.repeat(43)}` })).statusCode).toBe(401)
    const read = (await r.keys.create(siteId, 'read')).token
    expect((await send(envelope(), { authorization: `Bearer ${read}` })).statusCode).toBe(403)
    const other = (await r.keys.create(otherSite, 'write')).token
    expect((await send(envelope(), { authorization: `Bearer ${other}` })).statusCode).toBe(403)
    const revoked = await r.keys.create(siteId, 'write')
    await r.keys.revoke(siteId, revoked.key.id)
    const res = await send(envelope(), { authorization: `Bearer ${revoked.token}` })
    expect(res.statusCode).toBe(401)
    expect(res.json().error.code).toBe('unauthorized')
  })

  it('signing secrets: admin API only, shown once; then write-key requests must be signed, replays refused', async () => {
    expect(
      (await r.app.inject({ method: 'POST', url: `/api/sites/${siteId}/signing-secret` })).statusCode,
    ).toBe(401)
    const created = await r.app.inject({
      method: 'POST',
      url: `/api/sites/${siteId}/signing-secret`,
      headers: ADMIN,
    })
    expect(created.statusCode).toBe(201)
    const { secret } = created.json() as { secret: string }
    expect(secret).toMatch(/^floe_secret_/)

    const key = { authorization: `Bearer ${writeKey}` }
    const unsigned = await send(envelope(), key)
    expect(unsigned.statusCode).toBe(401)
    expect(unsigned.json().error.message).toContain('X-Floe-Signature')

    const body = envelope()
    const ts = String(Math.floor(Date.now() / 1000))
    const signed = { ...key, 'x-floe-timestamp': ts, 'x-floe-signature': requestSignature(secret, ts, body) }
    expect((await send(body, signed)).statusCode).toBe(200)
    const replay = await send(body, signed)
    expect(replay.statusCode).toBe(401)
    expect(replay.json().error.message).toContain('replayed')

    const tampered = await send(body.replace('pageview', 'signup'), {
      ...signed,
      'x-floe-signature': requestSignature(secret, ts, body),
    })
    expect(tampered.statusCode).toBe(401)
    const old = String(Math.floor(Date.now() / 1000) - 3600)
    const body2 = envelope()
    const stale = await send(body2, {
      ...key,
      'x-floe-timestamp': old,
      'x-floe-signature': requestSignature(secret, old, body2),
    })
    expect(stale.statusCode).toBe(401)
    expect(stale.json().error.message).toContain('V1_SIGNATURE_TOLERANCE_SECONDS')

    // Browser tokens minted with the secret: short-lived, for this site only.
    const now = Math.floor(Date.now() / 1000)
    const token = mintBrowserToken(siteId, secret, now + 300)
    expect((await send(envelope(), { authorization: `Bearer ${token}` })).statusCode).toBe(200)
    expect(
      (await send(envelope(), { authorization: `Bearer ${mintBrowserToken(siteId, secret, now - 1)}` }))
        .statusCode,
    ).toBe(401)
    expect(
      (await send(envelope(), { authorization: `Bearer ${mintBrowserToken(siteId, secret, now + 7200)}` }))
        .statusCode,
    ).toBe(401)
    expect(
      (
        await send(envelope(), {
          authorization: `Bearer ${mintBrowserToken(siteId, 'not-the-secret', now + 60)}`,
        })
      ).statusCode,
    ).toBe(401)
    expect((await send(envelope(otherSite), { authorization: `Bearer ${token}` })).statusCode).toBe(401) // other site has no secret

    // Rotating replaces the secret; removing it turns signing off.
    const rotated = (
      await r.app.inject({ method: 'POST', url: `/api/sites/${siteId}/signing-secret`, headers: ADMIN })
    ).json() as { secret: string }
    expect(rotated.secret).not.toBe(secret)
    expect((await send(envelope(), { authorization: `Bearer ${token}` })).statusCode).toBe(401)
    const removed = await r.app.inject({
      method: 'DELETE',
      url: `/api/sites/${siteId}/signing-secret`,
      headers: ADMIN,
    })
    expect(removed.json()).toEqual({ removed: true })
    expect((await send(envelope(), key)).statusCode).toBe(200)
  })
})
