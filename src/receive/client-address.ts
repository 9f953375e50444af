/**
 * The client address the rate limiter keys on, decided by configuration only: headers a client can
 * write itself are never believed unless the operator said a proxy in front sets them.
 *
 * - `CLIENT_IP_HEADER` set: that header (the operator's proxy or CDN sets it), else the socket.
 * - otherwise Fastify's `request.ip`, which honours `trustProxy` = `TRUST_PROXY_HOPS` (proxy-addr:
 *   `X-Forwarded-For` read from the right, skipping that many trusted proxies; 0 = the socket
 *   address), so what a client put on the left cannot move the key.
 *
 * Umami's own header order (enrich/ip.ts) still feeds geo and session ids, where a spoofed
 * header only changes the spoofer's own rows; the limiter must not be escapable that way.
 */
import type { FastifyRequest } from 'fastify'
import { headerValue, normalizeIp } from '../enrich/ip.ts'

export function limiterAddress(
  req: Pick<FastifyRequest, 'headers' | 'ip'>,
  clientIpHeader: string | undefined,
): string | undefined {
  const named = clientIpHeader ? headerValue(req.headers, clientIpHeader)?.split(',')[0]?.trim() : undefined
  const ip = named || req.ip
  return ip ? normalizeIp(ip) : undefined
}
