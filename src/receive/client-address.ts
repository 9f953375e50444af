/**
 * The client address the rate limiter keys on, decided by configuration only, like Fastify's
 * `trustProxy`: headers a client can write itself are never believed unless the operator said a
 * proxy in front sets them.
 *
 * - `CLIENT_IP_HEADER` set: that header (the operator's proxy or CDN sets it), else the socket.
 * - `TRUST_PROXY_HOPS=n`: the socket address and `X-Forwarded-For` entries are read from the
 *   right, skipping the n trusted proxies; what a client put on the left cannot move the key.
 * - neither (default): the socket address.
 *
 * Umami's own header order (enrich/ip.ts) still feeds geo and session ids, where a spoofed
 * header only changes the spoofer's own rows; the limiter must not be escapable that way.
 */
import { headerValue, normalizeIp, type Headers } from '../enrich/ip.ts'

export interface ClientAddressOptions {
  clientIpHeader: string | undefined
  trustProxyHops: number
}

export function limiterAddress(
  headers: Headers,
  socketIp: string | undefined,
  opts: ClientAddressOptions,
): string | undefined {
  if (opts.clientIpHeader) {
    const v = headerValue(headers, opts.clientIpHeader)?.split(',')[0]?.trim()
    if (v) return normalizeIp(v)
  } else if (opts.trustProxyHops > 0) {
    const xff = headers['x-forwarded-for']
    const chain = (Array.isArray(xff) ? xff.join(',') : (xff ?? ''))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    chain.push(socketIp ?? '')
    // chain[last] is the socket (the nearest proxy); each trusted hop vouches for one entry left.
    const client = chain[Math.max(0, chain.length - 1 - opts.trustProxyHops)]
    if (client) return normalizeIp(client)
  }
  return socketIp === undefined ? undefined : normalizeIp(socketIp)
}
