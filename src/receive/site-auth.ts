/**
 * Who may read or write a site's data: the admin token (every site) or a site key (its own site,
 * and only for the kinds a route accepts). Used by every route that serves or takes a site's data
 * beyond the public tracker endpoints.
 *
 * The token may come in any of the headers the clients Floe serves already send:
 * `Authorization: Bearer` (Floe's own, curl), `X-Umami-Api-Key` (`@umami/api-client` with an API
 * key), `X-Umami-Share-Token` (Umami's share pages) and `X-Write-Key` (server-side senders).
 *
 * Answers: no token → 401; an unknown or revoked token → 401 (it proves nothing); a live key of
 * another site, or of a kind the route does not take → 403.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { AuthError } from '../errors.ts'
import type { KeyKind, KeyStore, SiteKey } from '../sites/keys.ts'

export interface SiteAuthOptions {
  adminToken: string | undefined
  keys: KeyStore
  /** The key kinds this route accepts (e.g. ['read', 'share'] for reporting, ['write'] for ingest). */
  kinds: readonly KeyKind[]
}

export type SiteAccess = { by: 'admin' } | { by: 'key'; key: SiteKey }

type Headers = Pick<FastifyRequest, 'headers'>

const digest = (s: string) => createHash('sha256').update(s).digest()
const header = (req: Headers, name: string): string | undefined => {
  const v = req.headers[name]
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined
}

/** The token a request carries, from the first header that has one. */
export function requestToken(req: Headers): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')
  return (
    bearer?.[1].trim() ??
    header(req, 'x-umami-api-key') ??
    header(req, 'x-umami-share-token') ??
    header(req, 'x-write-key')
  )
}

/** Who the request is: the admin, or the holder of a live key of an accepted kind (else throws). */
export async function authenticate(req: Headers, options: SiteAuthOptions): Promise<SiteAccess> {
  const token = requestToken(req)
  if (token === undefined)
    throw new AuthError(401, 'send a key: Authorization: Bearer <key> (a site key or the admin token)')
  // Digests make the comparison constant-time whatever the lengths.
  if (options.adminToken !== undefined && timingSafeEqual(digest(token), digest(options.adminToken)))
    return { by: 'admin' }
  const key = await options.keys.resolve(token)
  if (key === null) throw new AuthError(401, 'unknown or revoked key')
  if (!options.kinds.includes(key.kind))
    throw new AuthError(403, `a ${key.kind} key cannot be used here (accepted: ${options.kinds.join(', ')})`)
  return { by: 'key', key }
}

/** As `authenticate`, and the key must belong to `siteId`. */
export async function authorizeSite(
  req: Headers,
  siteId: string,
  options: SiteAuthOptions,
): Promise<SiteAccess> {
  const access = await authenticate(req, options)
  if (access.by === 'key' && access.key.siteId !== siteId.toLowerCase())
    throw new AuthError(403, 'this key belongs to another site')
  return access
}

/** The sites the request may see: every site for the admin, else the key's own. */
export async function siteIdsFor(req: Headers, options: SiteAuthOptions): Promise<'all' | string[]> {
  const access = await authenticate(req, options)
  return access.by === 'admin' ? 'all' : [access.key.siteId]
}
