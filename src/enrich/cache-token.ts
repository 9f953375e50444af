/**
 * Umami's `x-umami-cache` token (Umami v3): an HS256 JWT without `exp`, keyed with the sha512
 * hex string of APP_SECRET, payload `{websiteId, sessionId, visitId, iat}` in that key order, which
 * is what jsonwebtoken emits for that object. Hand-written over node:crypto (one HMAC and base64url)
 * rather than adding jsonwebtoken for a single fixed algorithm; verification rejects any other
 * `alg`, so the classic `alg: none` / key-confusion attacks do not apply.
 */
import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { perSecret } from './per-secret.ts'

export interface CacheToken {
  websiteId?: string
  sessionId: string
  visitId: string
  /** Seconds since epoch when the visit started (carried unchanged while the visit lasts). */
  iat: number
}

const HEADER = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')

// The key (128 hex chars) is longer than SHA-256's 64-byte block, so HMAC itself would first
// replace it by sha256(key) on every call (RFC 2104 §2). Doing that once per secret gives the same
// MAC and saves the per-call key setup.
const keyFor = perSecret((secret): KeyObject => {
  const raw = Buffer.from(secret, 'utf8')
  return createSecretKey(raw.length > 64 ? createHash('sha256').update(raw).digest() : raw)
})

// A visit's token is the same string for every event of the visit (its `iat` is the visit start),
// and the tracker sends it back with each one: remembering recent signatures saves the HMAC (the
// largest single cost of /api/send after caching the User-Agent parse) for all but the first.
// One memo per secret, keyed by the signing input, so a token can only match the signature this
// process made with that secret. (Not one memo keyed by secret + input: the 128-character secret
// in every key costs more to hash than it saves.)
const signatures = perSecret(() => new LRUCache<string, string>({ max: 10_000 }))

function sign(data: string, secret: string): string {
  const memo = signatures(secret)
  let signature = memo.get(data)
  if (signature === undefined) {
    signature = createHmac('sha256', keyFor(secret)).update(data).digest('base64url')
    memo.set(data, signature)
  }
  return signature
}

export function signCacheToken(token: CacheToken, secret: string): string {
  // Fixed key order; JSON.stringify drops an undefined websiteId like jsonwebtoken does.
  const ordered = {
    websiteId: token.websiteId,
    sessionId: token.sessionId,
    visitId: token.visitId,
    iat: token.iat,
  }
  const payload = Buffer.from(JSON.stringify(ordered)).toString('base64url')
  return `${HEADER}.${payload}.${sign(`${HEADER}.${payload}`, secret)}`
}

// Tokens that verified, per secret: the tracker sends the same token with every event of a visit,
// so all but the first skip the base64/JSON decoding and the comparison. Only valid tokens are kept.
const verified = perSecret(() => new LRUCache<string, CacheToken>({ max: 10_000 }))

/** The token's claims, or null for anything invalid (Umami ignores a bad token, never errors). */
export function verifyCacheToken(raw: string | undefined, secret: string): CacheToken | null {
  if (!raw || raw.length > 2048) return null
  const memo = verified(secret)
  const known = memo.get(raw)
  if (known) return known
  const token = decodeAndVerify(raw, secret)
  if (token) memo.set(raw, Object.freeze(token)) // shared by every caller: read-only
  return token
}

function decodeAndVerify(raw: string, secret: string): CacheToken | null {
  const parts = raw.split('.')
  if (parts.length !== 3) return null
  const [h, p, s] = parts
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: unknown }
    if (header.alg !== 'HS256') return null
    const expected = Buffer.from(sign(`${h}.${p}`, secret))
    const given = Buffer.from(s)
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>
    if (typeof claims !== 'object' || claims === null) return null
    const { websiteId, sessionId, visitId, iat } = claims
    if (typeof sessionId !== 'string' || typeof visitId !== 'string') return null
    return {
      websiteId: typeof websiteId === 'string' ? websiteId : undefined,
      sessionId,
      visitId,
      iat: typeof iat === 'number' && Number.isFinite(iat) ? iat : 0,
    }
  } catch {
    return null
  }
}
