/**
 * `POST /api/admin/flush` (Bearer `ADMIN_TOKEN`): forces an immediate flush of every table and
 * answers once the rows accepted before the call are committed to Iceberg, with the snapshot ids
 * made per table. Operators and tests use it; without `ADMIN_TOKEN` the route answers 403.
 */
import { timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsync } from 'fastify'
import type { FlushResult } from '../buffer/buffer.ts'
import { TABLE_NAMES } from '../rows.ts'

export interface AdminFlushOptions {
  adminToken: string | undefined
  flush: () => Promise<FlushResult>
}

export interface TableFlushReport {
  /** Snapshots committed by this flush, oldest first (empty when there was nothing to flush). */
  snapshotIds: string[]
  records: number
  /** Metadata location after the last commit, if any. */
  metadataLocation: string | null
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '')
  if (!m) return false
  const a = Buffer.from(m[1].trim())
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

const errorReply = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
}

const tableReport = {
  type: 'object',
  properties: {
    snapshotIds: { type: 'array', items: { type: 'string' } },
    records: { type: 'integer' },
    metadataLocation: { type: ['string', 'null'] },
  },
}

export const adminFlushRoute: FastifyPluginAsync<AdminFlushOptions> = async (app, opts) => {
  app.post(
    '/api/admin/flush',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: {
              tables: {
                type: 'object',
                properties: Object.fromEntries(TABLE_NAMES.map((t) => [t, tableReport])),
              },
            },
          },
          401: errorReply,
          403: errorReply,
          503: errorReply,
        },
      },
    },
    async (req, reply) => {
      if (!opts.adminToken)
        return reply.code(403).send({ error: 'Forbidden', message: 'ADMIN_TOKEN is not configured' })
      if (!tokenMatches(req.headers.authorization, opts.adminToken))
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: 'Unauthorized', message: 'Authorization: Bearer <ADMIN_TOKEN> required' })
      let result: FlushResult
      try {
        result = await opts.flush()
      } catch (err) {
        req.log.warn({ err }, 'admin flush failed; rows stay buffered and retry in the background')
        return reply
          .code(503)
          .header('retry-after', '5')
          .send({ error: 'Service Unavailable', message: `flush failed: ${(err as Error).message}` })
      }
      const tables: Record<string, TableFlushReport> = {}
      for (const t of TABLE_NAMES) {
        const made = result[t]
        tables[t] = {
          snapshotIds: made.map((r) => r.snapshotId.toString()),
          records: made.reduce((n, r) => n + r.records, 0),
          metadataLocation: made.length ? made[made.length - 1].metadataLocation : null,
        }
      }
      return { tables }
    },
  )
}
