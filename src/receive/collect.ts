/**
 * `POST /api/send` and `POST /api/batch` (Umami v3), registered under `/api`, with
 * their CORS (site allowlist or `*`), text/plain JSON bodies, and per-IP / per-site rate limits.
 * A 2xx is sent only after the sink resolved (rows durable per the WAL policy).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import cors from '@fastify/cors'
import type { EventSink } from '../buffer/sink.ts'
import type { RejectedRow, RowsByTable } from '../rows.ts'
import { rejectedRow } from '../enrich/rejected.ts'
import { metrics } from '../observe/metrics.ts'
import { ValidationError } from '../errors.ts'
import type { Pipeline, RequestContext, SendResponse } from '../enrich/process.ts'
import type { CorsAllowlist } from './cors.ts'
import { toHttpError } from './http-errors.ts'
import { createLimiter, ipRateKey } from './rate-limit.ts'
import { countRejected, reasonOf } from './rejections.ts'
import { limiterAddress } from './client-address.ts'

export const MAX_BATCH_ITEMS = 1000

export interface CollectOptions {
  pipeline: Pipeline
  sink: EventSink
  allowlist: CorsAllowlist
  corsAllowAll: boolean
  rateLimit: { perIpPerMinute: number; perSitePerMinute: number }
  /** CLIENT_IP_HEADER: the one header the per-IP limiter believes when set (client-address.ts). */
  clientIpHeader: string | undefined
  /**
   * Refused events (400) naming a live site go to `pa_rejected` (docs/dead-letter.md); absent =
   * FLOE_DEAD_LETTER=false.
   */
  deadLetter?: { lookupSite(siteId: string): Promise<{ deletedAt: string | null } | null> }
}

const sendResponseSchema = {
  200: {
    type: 'object',
    properties: {
      cache: { type: 'string' },
      sessionId: { type: 'string' },
      visitId: { type: 'string' },
      beep: { type: 'string' },
    },
  },
}

function context(req: FastifyRequest): RequestContext {
  return { headers: req.headers, socketIp: req.socket.remoteAddress, receivedAt: Date.now() }
}

function websiteOf(item: unknown): string | undefined {
  const w = (item as { payload?: { website?: unknown } } | null)?.payload?.website
  return typeof w === 'string' ? w.toLowerCase().slice(0, 36) : undefined
}

export async function collectPlugin(app: FastifyInstance, opts: CollectOptions): Promise<void> {
  const { pipeline, sink } = opts
  await app.register(cors, {
    origin: opts.corsAllowAll ? '*' : (origin, cb) => cb(null, opts.allowlist.allows(origin)),
    methods: ['POST'],
    allowedHeaders: ['Content-Type', 'x-umami-cache'],
    maxAge: 86400,
  })
  // The tracker sends application/json, but Umami parses any body as JSON (`text/plain` included).
  // Umami accepts any data key, `__proto__` and `constructor.prototype` too, so these routes do
  // not refuse them (Fastify's default elsewhere): JSON.parse makes them plain own properties, and
  // nothing here merges a body into another object (event data is copied into a prototype-less
  // object, event-data.ts).
  const parseJson = app.getDefaultJsonParser('ignore', 'ignore')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson)
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, parseJson)

  const perIp = createLimiter(app, 'ip', opts.rateLimit.perIpPerMinute)
  const perSite = createLimiter(app, 'site', opts.rateLimit.perSitePerMinute)
  // Per IP before the body is read; per site once the body names the site(s). A limit of 0 adds
  // no hook at all, so the requests pay nothing for it.
  if (opts.rateLimit.perIpPerMinute > 0)
    app.addHook('onRequest', async (req) => {
      if (req.method === 'POST') await perIp.hit(req, ipRateKey(limiterAddress(req, opts.clientIpHeader)))
    })
  if (opts.rateLimit.perSitePerMinute > 0)
    app.addHook('preHandler', async (req) => {
      const body = req.body
      if (!Array.isArray(body)) {
        const site = websiteOf(body)
        if (site) await perSite.hit(req, site)
        return
      }
      for (let i = 0; i < body.length && i < MAX_BATCH_ITEMS; i++) {
        const site = websiteOf(body[i])
        if (site) await perSite.hit(req, site)
      }
    })

  async function accept(rows: RowsByTable, rollbacks: Array<() => void>): Promise<void> {
    if (rows.pa_events.length === 0 && rows.pa_sessions.length === 0 && !rows.pa_rejected?.length) return
    try {
      await sink.accept(rows)
    } catch (err) {
      for (const r of rollbacks) r()
      throw err
    }
  }

  /**
   * The dead-letter row of an item refused with a 400, when the item names a live site (an unknown
   * site's junk is not kept: anyone could send it).
   */
  async function refusal(
    item: unknown,
    err: unknown,
    ctx: RequestContext,
    endpoint: '/api/send' | '/api/batch',
  ): Promise<RejectedRow | undefined> {
    if (!opts.deadLetter) return undefined
    const http = toHttpError(err)
    const siteId = websiteOf(item)
    if (http.status !== 400 || !siteId) return undefined
    const site = await opts.deadLetter.lookupSite(siteId).catch(() => null)
    if (!site || site.deletedAt !== null) return undefined
    return rejectedRow({
      siteId,
      receivedAt: ctx.receivedAt,
      endpoint,
      reason: 'invalid',
      field: http.body.error.field,
      message: http.body.error.message,
      raw: item,
      headers: ctx.headers,
    })
  }

  app.post('/send', { schema: { response: sendResponseSchema } }, async (req) => {
    const ctx = context(req)
    let outcome
    try {
      outcome = await pipeline.process(req.body, ctx)
    } catch (err) {
      const row = await refusal(req.body, err, ctx, '/api/send')
      if (row) {
        // Durable before the 400: what the client is told was refused can be replayed.
        await sink.accept({ pa_events: [], pa_sessions: [], pa_rejected: [row] })
        metrics.deadLettered.inc({ reason: row.reason })
      }
      throw err
    }
    if (outcome.kind === 'bot') {
      countRejected('bot')
      return { beep: 'boop' }
    }
    await accept(outcome.rows, [outcome.rollback])
    return outcome.response
  })

  app.post('/batch', async (req) => {
    const body = req.body
    if (!Array.isArray(body))
      throw new ValidationError('body', 'must be a JSON array of {type, payload} objects')
    if (body.length > MAX_BATCH_ITEMS)
      throw new ValidationError('body', `must hold at most ${MAX_BATCH_ITEMS} items`)
    body.forEach((item, i) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item))
        throw new ValidationError(`body.${i}`, 'must be an object {type, payload}')
    })
    const ctx = context(req)
    const rows: RowsByTable & { pa_rejected: RejectedRow[] } = {
      pa_events: [],
      pa_sessions: [],
      pa_rejected: [],
    }
    const rollbacks: Array<() => void> = []
    const details: Array<{ index: number; response: unknown }> = []
    // Umami: null, then `??=` the first processed item's cache (a bot item sets undefined).
    let cache: string | null | undefined = null
    // Items run in order, like Umami's sequential re-POSTs with the same headers.
    for (let index = 0; index < body.length; index++) {
      let response: SendResponse | { beep: string }
      try {
        const outcome = await pipeline.process(body[index], ctx)
        if (outcome.kind === 'bot') {
          countRejected('bot')
          response = { beep: 'boop' }
        } else {
          rows.pa_events.push(...outcome.rows.pa_events)
          rows.pa_sessions.push(...outcome.rows.pa_sessions)
          rollbacks.push(outcome.rollback)
          response = outcome.response
        }
      } catch (err) {
        const http = toHttpError(err)
        if (http.status >= 500) throw err
        // Answered inside a 200: counted here, per item, or nothing would show the drop.
        countRejected(reasonOf(http.status))
        const row = await refusal(body[index], err, ctx, '/api/batch')
        if (row) rows.pa_rejected.push(row)
        details.push({ index, response: http.body })
        continue
      }
      cache ??= 'cache' in response ? response.cache : undefined
    }
    // One sink call for the whole batch: all accepted items (and the refused ones kept in
    // pa_rejected) become durable together or not at all.
    await accept(rows, rollbacks)
    for (const r of rows.pa_rejected) metrics.deadLettered.inc({ reason: r.reason })
    return {
      size: body.length,
      processed: body.length - details.length,
      errors: details.length,
      details,
      cache,
    }
  })
}
