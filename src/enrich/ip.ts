/**
 * Client IP resolution as Umami v3 (Umami's `src/lib/ip.ts`): `CLIENT_IP_HEADER` if set and
 * present, else the first present header of Umami's list, else (unlike Umami, which relies on
 * Next.js filling x-forwarded-for) the socket address. The IP is normalised with ipaddr.js:
 * IPv4-mapped IPv6 becomes IPv4, IPv6 is canonicalised (RFC 5952), a port is stripped.
 * The result is used for derivation only (session id, geo, rate limit, IGNORE_IP) and never stored.
 */
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'
import { LRUCache } from 'lru-cache'

export const IP_HEADERS = [
  'true-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-nf-client-connection-ip',
  'do-connecting-ip',
  'x-real-ip',
  'x-appengine-user-ip',
  'x-forwarded-for',
  'forwarded',
  'x-client-ip',
  'x-cluster-client-ip',
  'x-forwarded',
] as const

export type Headers = Record<string, string | string[] | undefined>

export function headerValue(headers: Headers, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

function fromHeader(name: string, value: string): string | undefined {
  if (name === 'x-forwarded-for') return value.split(',')[0]?.trim()
  // Umami's regex plus an optional quote: RFC 7239 requires quoting IPv6 (`for="[2001:db8::1]:4711"`).
  if (name === 'forwarded') return /for="?(\[?[0-9a-fA-F:.]+]?)/i.exec(value)?.[1]
  return value.trim()
}

/** Normalises an IP (and strips `ip:port` / `[v6]:port`); an unparsable value is returned trimmed. */
// ipaddr.js parsing costs a few µs and a request resolves the same header more than once (rate
// limit key, pipeline); a small memo keyed by the raw value keeps it to one parse per client.
const normalized = new LRUCache<string, string>({ max: 10_000 })

export function normalizeIp(raw: string): string {
  let out = normalized.get(raw)
  if (out === undefined) {
    out = parseIp(raw)
    normalized.set(raw, out)
  }
  return out
}

function parseIp(raw: string): string {
  let s = raw.trim().replace(/^"|"$/g, '')
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(s)
  if (bracket) s = bracket[1]
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(':'))
  // node:net is strict (ipaddr.isValid also accepts forms like "0x7f.1")
  if (isIP(s) === 0) return s
  return ipaddr.process(s).toString()
}

export function clientIp(
  headers: Headers,
  clientIpHeader: string | undefined,
  socketIp: string | undefined,
): string | undefined {
  let raw: string | undefined
  const custom = clientIpHeader ? headerValue(headers, clientIpHeader) : undefined
  if (custom) raw = custom
  else {
    for (const name of IP_HEADERS) {
      const v = headerValue(headers, name)
      if (v) {
        raw = fromHeader(name, v)
        break
      }
    }
  }
  raw ??= socketIp
  return raw ? normalizeIp(raw) : undefined
}
