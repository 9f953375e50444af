/**
 * Who may send `/v1/events` for a site (docs/v1-events.md), in order:
 * - a browser token (`floe_bt.…`, sites/browser-token.ts), minted by the site's backend with the
 *   site's signing secret: short-lived, for one site;
 * - a write key of the site (`Authorization: Bearer` or `X-Write-Key`) or the admin token, through
 *   the shared `authorizeSite` (no token 401, unknown/revoked 401, another site's or a non-write
 *   key 403). When the site has a signing secret, a write-key request must also be signed:
 *   `X-Floe-Timestamp: <Unix seconds>` and `X-Floe-Signature: sha256=<hex HMAC-SHA256(secret,
 *   "<timestamp>.<raw body>")>`; a timestamp outside ±V1_SIGNATURE_TOLERANCE_SECONDS, a wrong
 *   signature, or a signature already used (replay; remembered across replicas) is a 401.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { AuthError, SignatureError } from '../errors.ts'
import type { KeyStore } from '../sites/keys.ts'
import type { SecretStore } from '../sites/secrets.ts'
import { browserTokenProblem, isBrowserToken } from '../sites/browser-token.ts'
import { authorizeSite, requestToken } from './site-auth.ts'

export const SIGNATURE_HEADER = 'x-floe-signature'
export const TIMESTAMP_HEADER = 'x-floe-timestamp'

export interface WriteAuthOptions {
  adminToken: string | undefined
  keys: KeyStore
  secrets: SecretStore
  /** V1_SIGNATURE_TOLERANCE_SECONDS. */
  signatureToleranceSeconds: number
  /** V1_BROWSER_TOKEN_MAX_TTL_SECONDS. */
  browserTokenMaxTtlSeconds: number
  now?: () => number
}

/** `sha256=<hex>` of `<timestamp>.<body>` under `secret` (what a sender computes). */
export function requestSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

type Req = Pick<FastifyRequest, 'headers'>

const header = (req: Req, name: string): string | undefined => {
  const v = req.headers[name]
  return typeof v === 'string' ? v.trim() : undefined
}

async function verifySignature(
  req: Req,
  rawBody: string,
  secret: string,
  o: WriteAuthOptions,
): Promise<void> {
  const timestamp = header(req, TIMESTAMP_HEADER)
  const signature = header(req, SIGNATURE_HEADER)
  if (!timestamp || !signature)
    throw new SignatureError(
      'this site requires signed requests: send X-Floe-Timestamp and X-Floe-Signature (docs/v1-events.md)',
    )
  const nowSeconds = (o.now ?? Date.now)() / 1000
  const ts = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : NaN
  if (!Number.isFinite(ts) || Math.abs(nowSeconds - ts) > o.signatureToleranceSeconds)
    throw new SignatureError(
      `X-Floe-Timestamp must be Unix seconds within ${o.signatureToleranceSeconds} s of now (V1_SIGNATURE_TOLERANCE_SECONDS)`,
    )
  const want = Buffer.from(requestSignature(secret, timestamp, rawBody))
  const got = Buffer.from(signature)
  if (got.length !== want.length || !timingSafeEqual(got, want))
    throw new SignatureError('X-Floe-Signature does not match the body and timestamp')
  const expiresAt = new Date((ts + o.signatureToleranceSeconds) * 1000)
  if (!(await o.secrets.firstUse(signature, expiresAt)))
    throw new AuthError(401, 'this signature was already used (replayed request)')
}

export async function authorizeWrite(
  req: Req,
  siteId: string,
  rawBody: string,
  o: WriteAuthOptions,
): Promise<void> {
  const token = requestToken(req)
  if (token !== undefined && isBrowserToken(token)) {
    const secret = await o.secrets.get(siteId)
    if (secret === null)
      throw new AuthError(401, 'this site has no signing secret, so it takes no browser tokens')
    const problem = browserTokenProblem(
      token,
      siteId,
      secret,
      (o.now ?? Date.now)() / 1000,
      o.browserTokenMaxTtlSeconds,
    )
    if (problem) throw new AuthError(problem.includes('another site') ? 403 : 401, problem)
    return
  }
  const access = await authorizeSite(req, siteId, {
    adminToken: o.adminToken,
    keys: o.keys,
    kinds: ['write'],
  })
  if (access.by === 'admin') return
  const secret = await o.secrets.get(siteId)
  if (secret !== null) await verifySignature(req, rawBody, secret, o)
}
