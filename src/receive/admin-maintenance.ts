/**
 * `POST /api/admin/maintenance` (Bearer `ADMIN_TOKEN`, the same check and error shape as
 * `/api/sites`): runs table maintenance now and answers what it did, per table and part.
 *
 * Body (optional): `{ "tables": ["pa_events"], "parts": ["compaction", "orphans"] }`; by default
 * every table and every enabled part. `"dryRun": true` plans per-site retention and reports what
 * it would remove, changing nothing (docs/retention.md); only `retention` may be named with it. A table whose lease another replica holds is reported as
 * skipped, not waited for.
 */
import type { FastifyInstance } from 'fastify'
import { PART_NAMES, type MaintenanceReport, type PartName, type RunRequest } from '../maintenance/runner.ts'
import { ValidationError } from '../errors.ts'
import { TABLE_NAMES, type TableName } from '../rows.ts'
import { checkAdmin } from './sites-routes.ts'

export interface AdminMaintenanceOptions {
  adminToken: string | undefined
  run: (req: RunRequest) => Promise<MaintenanceReport>
}

export async function adminMaintenanceRoute(
  app: FastifyInstance,
  opts: AdminMaintenanceOptions,
): Promise<void> {
  app.post<{ Body: { tables?: TableName[]; parts?: PartName[]; dryRun?: boolean } | undefined }>(
    '/api/admin/maintenance',
    {
      onRequest: async (req) => checkAdmin(req, opts.adminToken),
      schema: {
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            tables: { type: 'array', items: { type: 'string', enum: [...TABLE_NAMES] }, uniqueItems: true },
            parts: { type: 'array', items: { type: 'string', enum: [...PART_NAMES] }, uniqueItems: true },
            dryRun: { type: 'boolean' },
          },
        },
      },
    },
    async (req) => {
      const { tables, parts, dryRun } = req.body ?? {}
      const other = parts?.find((p) => p !== 'retention')
      if (dryRun && other !== undefined)
        throw new ValidationError('parts', `a dry run plans retention only; "${other}" has no dry run`)
      return opts.run({ tables, parts, dryRun })
    },
  )
}
