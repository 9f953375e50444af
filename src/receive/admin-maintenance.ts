/**
 * `POST /api/admin/maintenance` (Bearer `ADMIN_TOKEN`, the same check and error shape as
 * `/api/sites`): runs table maintenance now and answers what it did, per table and part.
 *
 * Body (optional): `{ "tables": ["pa_events"], "parts": ["compaction", "orphans"] }`; by default
 * every table and every enabled part. A table whose lease another replica holds is reported as
 * skipped, not waited for.
 */
import type { FastifyInstance } from 'fastify'
import type { MaintenanceReport, PartName, RunRequest } from '../maintenance/runner.ts'
import { TABLE_NAMES, type TableName } from '../rows.ts'
import { checkAdmin } from './sites-routes.ts'

export interface AdminMaintenanceOptions {
  adminToken: string | undefined
  run: (req: RunRequest) => Promise<MaintenanceReport>
}

const PARTS: readonly PartName[] = ['expire', 'compaction', 'orphans']

export async function adminMaintenanceRoute(
  app: FastifyInstance,
  opts: AdminMaintenanceOptions,
): Promise<void> {
  app.post<{ Body: { tables?: TableName[]; parts?: PartName[] } | undefined }>(
    '/api/admin/maintenance',
    {
      onRequest: async (req) => checkAdmin(req, opts.adminToken),
      schema: {
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            tables: { type: 'array', items: { type: 'string', enum: [...TABLE_NAMES] }, uniqueItems: true },
            parts: { type: 'array', items: { type: 'string', enum: [...PARTS] }, uniqueItems: true },
          },
        },
      },
    },
    async (req) => opts.run({ tables: req.body?.tables, parts: req.body?.parts }),
  )
}
