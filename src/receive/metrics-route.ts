/**
 * `GET /metrics`: Prometheus text format from src/observe/metrics.ts.
 *
 * Also counts collect requests the receiver turned away, by reason, from their HTTP status (the
 * receiver maps typed errors to statuses in one place, http-errors.ts). Backpressure and shutdown
 * rejections are counted by the buffer itself, which knows how many events they held.
 */
import type { FastifyPluginAsync } from 'fastify'
import { metrics, registry } from '../observe/metrics.ts'

const REASONS: Record<number, string> = {
  400: 'invalid',
  403: 'ignored_ip',
  413: 'too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
}

const plugin: FastifyPluginAsync = async (app) => {
  app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'POST' || !/^\/api\/(send|batch)\b/.test(req.url)) return
    const status = reply.statusCode
    if (status < 400 || status === 503) return
    metrics.eventsRejected.inc({
      reason: REASONS[status] ?? (status >= 500 ? 'server_error' : 'client_error'),
    })
  })
  app.get('/metrics', async (_req, reply) => {
    const body = await registry.metrics()
    return reply.header('content-type', registry.contentType).send(body)
  })
}
// Not encapsulated (what fastify-plugin does): the hook must see the collect routes' responses.
;(plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true

export const metricsRoute = plugin
