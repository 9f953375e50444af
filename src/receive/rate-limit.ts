/**
 * Two fixed-window limiters from @fastify/rate-limit (`createRateLimit`, its in-memory store): per
 * client IP (IPv6 grouped by /64, so one host cannot rotate through its prefix) and per site.
 * `createRateLimit` is used rather than the route hook because one request must pass both limiters
 * and the hook form runs only once per request. A limit of 0 disables that limiter. The IP is a key
 * in process memory only; it is never logged or persisted.
 */
import ipaddr from 'ipaddr.js'
import { isIP } from 'node:net'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { RateLimitedError } from './http-errors.ts'

export interface Limiter {
  /** Counts one hit for `key`; throws RateLimitedError when over the limit. */
  hit(req: FastifyRequest, key: string): Promise<void>
}

export function ipRateKey(ip: string | undefined): string {
  if (!ip || isIP(ip) !== 6) return ip ?? 'unknown'
  return ipaddr.IPv6.networkAddressFromCIDR(`${ip}/64`).toString()
}

export function createLimiter(app: FastifyInstance, scope: 'ip' | 'site', perMinute: number): Limiter {
  if (perMinute <= 0) return { hit: async () => {} }
  // createRateLimit only passes the request to keyGenerator; the key rides along in a WeakMap.
  const keys = new WeakMap<FastifyRequest, string>()
  const check = app.createRateLimit({
    max: perMinute,
    timeWindow: 60_000,
    keyGenerator: (req) => `${scope}:${keys.get(req)}`,
  })
  return {
    async hit(req, key) {
      keys.set(req, key)
      const r = await check(req)
      if (!r.isAllowed && r.isExceeded) throw new RateLimitedError(scope, Math.max(1, r.ttlInSeconds))
    },
  }
}
