/**
 * Request logging without client IPs. Fastify's default request serializer logs `remoteAddress`;
 * Floe replaces it (method, url, id only), turns Fastify's automatic request logs off in favour of
 * one line per response from server.ts, and redacts IP-bearing header paths as a second guard in
 * case some code logs a request or its headers.
 */
import type { Logger } from 'pino'
import { IP_HEADERS } from '../enrich/ip.ts'

interface RequestLike {
  method?: string
  url?: string
  id?: string
}

export function safeRequestSerializer(req: RequestLike): RequestLike {
  // url: /api/send and /api/batch carry no query; strip any query anyway (it may hold ids).
  return { method: req.method, url: req.url?.split('?')[0], id: req.id }
}

const REDACT = [
  'req.remoteAddress',
  'req.ip',
  'req.ips',
  'ip',
  'remoteAddress',
  ...[...IP_HEADERS, 'user-agent', 'authorization', 'x-umami-cache'].flatMap((h) => [
    `req.headers["${h}"]`,
    `headers["${h}"]`,
  ]),
]

export function receiverLogger(logger: Logger): Logger {
  return logger.child(
    {},
    { serializers: { req: safeRequestSerializer }, redact: { paths: REDACT, censor: '[redacted]' } },
  )
}
