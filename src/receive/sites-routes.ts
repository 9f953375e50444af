/**
 * Admin API for sites (Bearer ADMIN_TOKEN; no token → 401, wrong token or no ADMIN_TOKEN configured
 * → 403, admin-auth.ts): `GET/POST /api/sites`, `GET/PUT/DELETE /api/sites/:id`. DELETE is a soft
 * delete. Bodies are validated strictly: wrong types and unknown fields are a 400 naming the field.
 */
import type { FastifyInstance } from 'fastify'
import { SiteNotFoundError } from '../errors.ts'
import { checkAdmin } from './admin-auth.ts'
import { strictBodyCompiler } from './strict-body.ts'
import { MAX_RETENTION_DAYS, type SiteStore } from '../sites/store.ts'
import { KEY_KINDS, type KeyStore } from '../sites/keys.ts'
import { scriptSnippet, type Site } from '../sites/site.ts'

export interface SitesOptions {
  sites: SiteStore
  keys: KeyStore
  adminToken: string | undefined
  publicUrl: string
}

export { checkAdmin }

const siteSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    domains: { type: 'array', items: { type: 'string' } },
    allowSubdomains: { type: 'boolean' },
    retentionDays: { type: ['integer', 'null'] },
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
  // Per-site retention (docs/retention.md): null = FLOE_RETENTION_DEFAULT_DAYS.
  retentionDays: { type: ['integer', 'null'], minimum: 1, maximum: MAX_RETENTION_DAYS },
}

export async function sitesPlugin(app: FastifyInstance, opts: SitesOptions): Promise<void> {
  const { sites } = opts
  const withScript = (s: Site) => ({ ...s, script: scriptSnippet(opts.publicUrl, s.id) })
  app.addHook('onRequest', async (req) => checkAdmin(req, opts.adminToken))
  // Bodies exactly as sent: no type coercion, unknown fields refused (strict-body.ts).
  app.setValidatorCompiler(strictBodyCompiler)

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
        retentionDays?: number | null
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

  const keySchema = {
    type: 'object',
    properties: {
      id: { type: 'string' },
      siteId: { type: 'string' },
      kind: { type: 'string' },
      label: { type: ['string', 'null'] },
      createdAt: { type: 'string' },
      revokedAt: { type: ['string', 'null'] },
    },
  }
  app.get(
    '/:id/keys',
    {
      schema: {
        params,
        querystring: { type: 'object', properties: { includeRevoked: { type: 'boolean' } } },
        response: { 200: { type: 'object', properties: { keys: { type: 'array', items: keySchema } } } },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string }
      const { includeRevoked } = req.query as { includeRevoked?: boolean }
      return { keys: await opts.keys.list(id, { includeRevoked }) }
    },
  )

  app.post(
    '/:id/keys',
    {
      schema: {
        params,
        body: {
          type: 'object',
          required: ['kind'],
          additionalProperties: false,
          properties: {
            kind: { type: 'string', enum: [...KEY_KINDS] },
            label: { type: ['string', 'null'], maxLength: 200 },
          },
        },
        response: { 201: { type: 'object', properties: { key: keySchema, token: { type: 'string' } } } },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string }
      const { kind, label } = req.body as { kind: (typeof KEY_KINDS)[number]; label?: string | null }
      reply.code(201)
      return opts.keys.create(id, kind, label ?? null)
    },
  )

  app.delete(
    '/:id/keys/:keyId',
    {
      schema: {
        params: {
          type: 'object',
          required: ['id', 'keyId'],
          properties: { id: { type: 'string', format: 'uuid' }, keyId: { type: 'string', format: 'uuid' } },
        },
        response: { 200: { type: 'object', properties: { key: keySchema } } },
      },
    },
    async (req) => {
      const { id, keyId } = req.params as { id: string; keyId: string }
      return { key: await opts.keys.revoke(id, keyId) }
    },
  )
}
