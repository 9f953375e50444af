/**
 * Access control of the Iceberg REST endpoint: one shared token (`ICEBERG_REST_READ_TOKEN`).
 *
 * - Every catalog route wants `Authorization: Bearer <token>` (401 NotAuthorizedException otherwise).
 * - `POST /v1/oauth/tokens` implements the OAuth2 client-credentials exchange that Java (Trino,
 *   Spark), PyIceberg and DuckDB perform when configured with `credential=<client-id>:<secret>`:
 *   the client id is free (it names the reader in logs), the secret must be the token, and the
 *   response hands the same token back as the access token. It issues no expiring tokens, so
 *   there is nothing to refresh; a token-exchange "refresh" with the token as subject returns it
 *   again. The spec marks this endpoint deprecated; it is kept because these clients still call it.
 *
 * Why no real OAuth server: Floe has one reader role, a static secret is what operators can rotate,
 * and minting derived tokens would only add state. Use TLS in front of Floe: the token is a bearer
 * secret.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { notAuthorized } from './rest-errors.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route of the Iceberg REST endpoint that needs no bearer token (only the token route). */
    icebergPublic?: boolean
  }
}

/** Constant-time string equality (hash first so lengths do not leak either). */
export function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(h(a), h(b))
}

/** Throws 401 unless the request carries `Bearer <token>`; open when no token is configured. */
export function checkBearer(request: FastifyRequest, token: string | undefined): void {
  if (token === undefined) return
  const header = request.headers.authorization
  if (header === undefined) throw notAuthorized('missing Authorization: Bearer <ICEBERG_REST_READ_TOKEN>')
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (!m) throw notAuthorized('Authorization header must be "Bearer <token>"')
  if (!sameSecret(m[1], token)) throw notAuthorized('invalid bearer token')
}

export interface OAuthTokenResponse {
  access_token: string
  token_type: 'bearer'
  issued_token_type: 'urn:ietf:params:oauth:token-type:access_token'
}

interface OAuthError {
  error: 'invalid_request' | 'invalid_client' | 'unsupported_grant_type'
  error_description: string
}

/**
 * Client id/secret from HTTP Basic auth (RFC 6749 §2.3.1: form-urlencoded parts) if present;
 * `'malformed'` when the parts are not valid percent-encoding (`%zz`, a lone `%E0`): the client's
 * error, answered 401 invalid_client, never a URIError turned 500.
 */
function basicCredentials(
  header: string | undefined,
): { id: string; secret: string } | 'malformed' | undefined {
  const m = header === undefined ? null : /^Basic\s+(\S+)$/i.exec(header)
  if (!m) return undefined
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  const part = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '))
  try {
    return { id: part(decoded.slice(0, colon)), secret: part(decoded.slice(colon + 1)) }
  } catch (err) {
    if (err instanceof URIError) return 'malformed'
    throw err
  }
}

/**
 * The `/v1/oauth/tokens` handler. Answers with OAuth2's own error shape (`OAuthError`), not the
 * Iceberg one, as the spec's `OAuthErrorResponse` says.
 */
export function oauthTokenHandler(token: string | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<OAuthTokenResponse | OAuthError> => {
    const form = (request.body ?? {}) as Record<string, string | undefined>
    const fail = (code: number, error: OAuthError['error'], description: string): OAuthError => {
      reply.code(code)
      return { error, error_description: description }
    }
    const grant = form.grant_type
    let secret: string | undefined
    if (grant === 'client_credentials') {
      const basic =
        form.client_secret === undefined ? basicCredentials(request.headers.authorization) : undefined
      if (basic === 'malformed')
        return fail(401, 'invalid_client', 'HTTP Basic credentials are not valid percent-encoded UTF-8')
      secret = form.client_secret ?? basic?.secret
    } else if (grant === 'urn:ietf:params:oauth:grant-type:token-exchange') {
      secret = form.subject_token
    } else {
      return fail(400, 'unsupported_grant_type', 'grant_type must be client_credentials or token-exchange')
    }
    if (secret === undefined)
      return fail(400, 'invalid_request', 'client_secret (or subject_token) is required')
    if (token !== undefined && !sameSecret(secret, token))
      return fail(401, 'invalid_client', 'the client secret is not this endpoint’s ICEBERG_REST_READ_TOKEN')
    return {
      // With no token configured the endpoint is open; hand back the presented secret so
      // clients that insist on a token flow still work.
      access_token: token ?? secret,
      token_type: 'bearer',
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    }
  }
}
