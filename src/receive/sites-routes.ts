/**
 * Admin API for sites (Bearer ADMIN_TOKEN; no token → 401, wrong token or no ADMIN_TOKEN configured
 * → 403): `GET/POST /api/sites`, `GET/PUT/DELETE /api/sites/:id`. DELETE is a soft delete.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AuthError, SiteNotFoundError } from '../errors.ts'
import type { SiteStore } from '../sites/store.ts'
import { scriptSnippet, type Site } from '../sites/site.ts'

export interface SitesOptions {
  sites: SiteStore
  adminToken: string | undefined
  publicUrl: string
}

const digest = (s: string) => createHash('sha256').update(s).digest()

export function checkAdmin(req: Pick<FastifyRequest, 'headers'>, adminToken: string | undefined): void {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')
  if (!m) throw new AuthError(401, 'admin API: send Authorization: Bearer <ADMIN_TOKEN>')
  if (adminToken === undefined) throw new AuthError(403, 'admin API is disabled: ADMIN_TOKEN is not set')
  // Compare digests so the comparison is constant-time regardless of token length.
  if (!timingSafeEqual(digest(m[1].trim()), digest(adminToken)))
    throw new AuthError(403, 'admin API: wrong token')
}

const siteSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    domains: { type: 'array', items: { type: 'string' } },
    allowSubdomains: { type: 'boolean' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    deletedAt: { type: ['string', 'null'] },
    script: { type: 'string' },
  },
}
const params = { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } }
const inputProps = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  domains: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 253 } },
  allowSubdomains: { type: 'boolean' },
}

export async function sitesPlugin(app: FastifyInstance, opts: SitesOptions): Promise<void> {
  const { sites } = opts
  const withScript = (s: Site) => ({ ...s, script: scriptSnippet(opts.publicUrl, s.id) })
  app.addHook('onRequest', async (req) => checkAdmin(req, opts.adminToken))

  app.get(
    '/',
    {
      schema: {
        querystring: { type: 'object', properties: { includeDeleted: { type: 'boolean' } } },
        response: { 200: { type: 'object', properties: { sites: { type: 'array', items: siteSchema } } } },
      },
    },
    async (req) => {
      const { includeDeleted } = req.query as { includeDeleted?: boolean }
      return { sites: (await sites.list({ includeDeleted })).map(withScript) }
    },
  )

  app.post(
    '/',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'domains'],
          additionalProperties: false,
          properties: { ...inputProps, id: { type: 'string', format: 'uuid' } },
        },
        response: { 201: siteSchema },
      },
    },
    async (req, reply) => {
      const { id, ...input } = req.body as {
        id?: string
        name: string
        domains: string[]
        allowSubdomains?: boolean
      }
      reply.code(201)
      return withScript(await sites.create(input, id))
    },
  )

  app.get('/:id', { schema: { params, response: { 200: siteSchema } } }, async (req) => {
    const { id } = req.params as { id: string }
    const site = await sites.get(id)
    if (!site) throw new SiteNotFoundError(id)
    return withScript(site)
  })

  app.put(
    '/:id',
    {
      schema: {
        params,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: inputProps },
        response: { 200: siteSchema },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string }
      return withScript(await sites.update(id.toLowerCase(), req.body as Record<string, never>))
    },
  )

  app.delete('/:id', { schema: { params, response: { 200: siteSchema } } }, async (req) => {
    const { id } = req.params as { id: string }
    return withScript(await sites.softDelete(id.toLowerCase()))
  })
}
