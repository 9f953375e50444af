/**
 * Browser tokens: short-lived credentials a site's backend mints for its browsers, so a page can
 * send `/v1/events` without holding the site's write key. A token names its site and expiry and
 * carries an HMAC-SHA256 of both under the site's signing secret (sites/secrets.ts):
 *
 *   floe_bt.<site id>.<expiry, Unix seconds>.<base64url HMAC-SHA256(secret, "floe_bt.<site id>.<expiry>")>
 *
 * Any language can mint one with its standard HMAC (docs/v1-events.md shows it); `mintBrowserToken`
 * is the same in TypeScript. Pure: no I/O.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

const PREFIX = 'floe_bt'
const TOKEN = /^floe_bt\.([0-9a-f-]{36})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/

const mac = (secret: string, siteId: string, exp: number) =>
  createHmac('sha256', secret).update(`${PREFIX}.${siteId}.${exp}`).digest()

export function isBrowserToken(token: string): boolean {
  return token.startsWith(`${PREFIX}.`)
}

/** A token for `siteId` valid until `expiresAtSeconds` (Unix seconds). */
export function mintBrowserToken(siteId: string, secret: string, expiresAtSeconds: number): string {
  const site = siteId.toLowerCase()
  const exp = Math.floor(expiresAtSeconds)
  return `${PREFIX}.${site}.${exp}.${mac(secret, site, exp).toString('base64url')}`
}

/** The token's site and expiry, without checking the signature (to find the secret); null if malformed. */
export function parseBrowserToken(token: string): { siteId: string; expiresAt: number } | null {
  const m = TOKEN.exec(token)
  return m ? { siteId: m[1].toLowerCase(), expiresAt: Number(m[2]) } : null
}

/**
 * Why the token is not valid for `siteId` now, or undefined when it is: a bad signature, another
 * site, expired, or an expiry further ahead than `maxTtlSeconds` (a token must be short-lived).
 */
export function browserTokenProblem(
  token: string,
  siteId: string,
  secret: string,
  nowSeconds: number,
  maxTtlSeconds: number,
): string | undefined {
  const m = TOKEN.exec(token)
  if (!m) return 'malformed browser token'
  const [, site, expText, sig] = m
  const exp = Number(expText)
  const want = mac(secret, site.toLowerCase(), exp)
  const got = Buffer.from(sig, 'base64url')
  if (got.length !== want.length || !timingSafeEqual(got, want))
    return 'browser token signature does not match'
  if (site.toLowerCase() !== siteId.toLowerCase()) return 'browser token is for another site'
  if (exp <= nowSeconds) return 'browser token has expired'
  if (exp > nowSeconds + maxTtlSeconds)
    return `browser token lives longer than ${maxTtlSeconds} s (V1_BROWSER_TOKEN_MAX_TTL_SECONDS)`
  return undefined
}
