/**
 * Serves the tracker at `/script.js` (the snippet from `POST /api/sites` points there), with the
 * headers Umami serves it with: any origin may load it, cached for a day.
 */
import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'

export const TRACKER_SOURCE = readFileSync(new URL('./tracker/script.js', import.meta.url), 'utf8')

export async function trackerPlugin(app: FastifyInstance): Promise<void> {
  app.get('/script.js', async (_req, reply) => {
    reply
      .header('content-type', 'application/javascript; charset=utf-8')
      .header('access-control-allow-origin', '*')
      .header('cache-control', 'public, max-age=86400, must-revalidate')
    return TRACKER_SOURCE
  })
}
