/**
 * The one place typed errors become HTTP answers. Bodies use Umami v3's error shape
 * `{"error":{"message","code","status"}}`, plus `field` naming the bad input where known.
 */
import {
  AuthError,
  BackpressureError,
  FlushFailedError,
  IgnoredIpError,
  QueryTimeoutError,
  ShareLinkNotFoundError,
  SiteNotFoundError,
  KeyNotFoundError,
  LogUnavailableError,
  SiteStoreUnavailableError,
  UnknownSiteError,
  ValidationError,
} from '../errors.ts'

export interface HttpError {
  status: number
  body: { error: { message: string; code: string; status: number; field?: string } }
  headers?: Record<string, string>
}

/** Thrown by the rate limiter hooks. */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError'
  constructor(
    readonly scope: 'ip' | 'site',
    readonly retryAfterSeconds: number,
  ) {
    super(`Too many requests (per ${scope}); retry after ${retryAfterSeconds}s`)
  }
}

const CODES: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  429: 'too-many-requests',
  500: 'server-error',
  503: 'service-unavailable',
}

function make(
  status: number,
  message: string,
  extra: { field?: string; headers?: Record<string, string> } = {},
): HttpError {
  const error = { message, code: CODES[status] ?? (status < 500 ? 'bad-request' : 'server-error'), status }
  return {
    status,
    body: { error: extra.field ? { ...error, field: extra.field } : error },
    headers: extra.headers,
  }
}

/** `body.name` from an ajv error (a missing required property names the property itself). */
function ajvField(
  context: string,
  v:
    { instancePath?: string; params?: { missingProperty?: string; additionalProperty?: string } } | undefined,
) {
  if (!v) return context
  const path = (v.instancePath ?? '').replace(/\//g, '.')
  const named = v.params?.missingProperty ?? v.params?.additionalProperty
  return `${context}${path}${named ? `.${named}` : ''}`
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof ValidationError) return make(400, err.message, { field: err.field })
  if (err instanceof UnknownSiteError) return make(400, 'Website not found.', { field: 'payload.website' })
  if (err instanceof IgnoredIpError) return make(403, 'Forbidden')
  if (err instanceof AuthError) return make(err.status, err.message)
  if (err instanceof SiteNotFoundError || err instanceof KeyNotFoundError) return make(404, err.message)
  if (err instanceof ShareLinkNotFoundError) return make(404, err.message)
  if (err instanceof RateLimitedError)
    return make(429, err.message, { headers: { 'retry-after': String(err.retryAfterSeconds) } })
  if (err instanceof SiteStoreUnavailableError)
    return make(503, err.message, { headers: { 'retry-after': String(err.retryAfterSeconds) } })
  if (err instanceof FlushFailedError)
    return make(503, err.message, { headers: { 'retry-after': String(err.retryAfterSeconds) } })
  if (err instanceof QueryTimeoutError)
    return make(503, err.message, { headers: { 'retry-after': String(err.retryAfterSeconds) } })
  if (err instanceof LogUnavailableError)
    return make(503, err.message, { headers: { 'retry-after': String(err.retryAfterSeconds) } })
  if (err instanceof BackpressureError)
    return make(503, err.message, { headers: { 'retry-after': String(err.retryAfterSeconds) } })
  // Fastify's own client errors: invalid/empty JSON (400), body too large (413), unsupported
  // content type (415), schema validation (400). Their messages never contain request data.
  const e = err as {
    statusCode?: unknown
    message?: unknown
    validation?: unknown
    validationContext?: unknown
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const field = Array.isArray(e.validation)
      ? ajvField(String(e.validationContext ?? 'body'), e.validation[0])
      : undefined
    return make(e.statusCode, String(e.message), { field })
  }
  return make(500, 'Server error')
}
