/**
 * Admin API for a site's signing secret (sites/secrets.ts), under `/api/sites`:
 * - `POST /api/sites/:id/signing-secret` → 201 `{secret, createdAt}`: creates or rotates it (shown
 *   once); from then on write-key requests to `/v1/events` must be signed, and browser tokens
 *   minted with it are accepted;
 * - `DELETE /api/sites/:id/signing-secret` → 200 `{removed}`: signing off.
 * Admin token only; no body (a body is refused, strict like the other admin routes).
 */
import type { FastifyInstance } from 'fastify'
import type { SecretStore } from '../sites/secrets.ts'
import { checkAdmin } from './admin-auth.ts'
import { strictBodyCompiler } from './strict-body.ts'

export interface SiteSecretsOptions {
  secrets: SecretStore
  adminToken: string | undefined
}

/** `:id` of a site route. */
export const siteIdParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', maxLength: 64 } },
}

export async function siteSecretsPlugin(app: FastifyInstance, opts: SiteSecretsOptions): Promise<void> {
  app.addHook('onRequest', async (req) => checkAdmin(req, opts.adminToken))
  // Bodies exactly as sent: no type coercion, unknown fields refused (strict-body.ts).
  app.setValidatorCompiler(strictBodyCompiler)
  app.post<{ Params: { id: string } }>(
    '/:id/signing-secret',
    {
      schema: {
        params: siteIdParams,
        body: { type: 'null' },
        response: {
          201: {
            type: 'object',
            properties: { secret: { type: 'string' }, createdAt: { type: 'string' } },
          },
        },
      },
    },
    async (req, reply) => reply.code(201).send(await opts.secrets.rotate(req.params.id)),
  )
  app.delete<{ Params: { id: string } }>(
    '/:id/signing-secret',
    {
      schema: {
        params: siteIdParams,
        response: { 200: { type: 'object', properties: { removed: { type: 'boolean' } } } },
      },
    },
    async (req) => ({ removed: await opts.secrets.remove(req.params.id) }),
  )
}
