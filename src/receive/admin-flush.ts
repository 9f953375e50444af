/**
 * `POST /api/admin/flush` (Bearer `ADMIN_TOKEN`): forces an immediate flush of every table and
 * answers once the rows accepted before the call are committed to Iceberg, with the snapshot ids
 * made per table. Operators and tests use it. Admin check as /api/sites: no token 401, a wrong one
 * (or no ADMIN_TOKEN configured) 403; a failed flush is 503 with Retry-After, in the same error shape.
 */
import type { FastifyPluginAsync } from 'fastify'
import type { FlushResult } from '../buffer/buffer.ts'
import { FlushFailedError } from '../errors.ts'
import { TABLE_NAMES } from '../rows.ts'
import { checkAdmin } from './admin-auth.ts'

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
        },
      },
    },
    async (req) => {
      // The same check, answers and error shape as /api/sites (admin-auth.ts, http-errors.ts).
      checkAdmin(req, opts.adminToken)
      let result: FlushResult
      try {
        result = await opts.flush()
      } catch (err) {
        req.log.warn({ err }, 'admin flush failed; rows stay buffered and retry in the background')
        throw new FlushFailedError(err)
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
