/**
 * `GET /metrics`: Prometheus text format from src/observe/metrics.ts.
 *
 * Also counts collect requests the receiver turned away, by reason, from their HTTP status (the
 * receiver maps typed errors to statuses in one place, http-errors.ts). Drops answered 200 (bots,
 * IGNORE_IP/invalid items of a batch) are counted where they happen (collect.ts). Backpressure and
 * shutdown rejections are counted by the buffer itself, which knows how many events they held.
 */
import type { FastifyPluginAsync } from 'fastify'
import { registry } from '../observe/metrics.ts'
import { countRejected, reasonOf } from './rejections.ts'

const plugin: FastifyPluginAsync = async (app) => {
  app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'POST' || !/^\/api\/(send|batch)\b/.test(req.url)) return
    const status = reply.statusCode
    if (status < 400 || status === 503) return
    countRejected(reasonOf(status))
  })
  app.get('/metrics', async (_req, reply) => {
    const body = await registry.metrics()
    return reply.header('content-type', registry.contentType).send(body)
  })
}
// Not encapsulated (what fastify-plugin does): the hook must see the collect routes' responses.
;(plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true

export const metricsRoute = plugin
