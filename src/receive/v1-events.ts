/**
 * `POST /v1/events`: the batch envelope for backends, apps and pipelines (docs/v1-events.md).
 * `{schema_version, property_id, sent_at, events[]}`; each event is enriched on its own
 * (enrich/v1-event.ts) and answered on its own: `{accepted, duplicates, rejected, errors[],
 * events[]}`, 200 even when some (or all) events were refused. Only the envelope itself can fail
 * the request (400 naming the field, unknown site, 401/403 without a valid write key, browser token
 * or signature (write-auth.ts), 503 backpressure).
 *
 * Idempotency: the accepted rows go to the sink with `claim: true`, so a `(site, event_id)` seen
 * within FLOE_IDEMPOTENCY_WINDOW_SECONDS is answered `duplicate` and lands no second row, across
 * replicas and restarts (buffer/ledger.ts, docs/idempotency.md). A 2xx is sent only after the rows
 * are durable in the WAL and claimed.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { EventSink } from '../buffer/sink.ts'
import type { EventRow, RowsByTable } from '../rows.ts'
import { ValidationError } from '../errors.ts'
import type { RequestContext } from '../enrich/process.ts'
import { parseTimestamp, type V1Enricher } from '../enrich/v1-event.ts'
import { keep, ruleFor, type SamplingRule } from '../enrich/sampling.ts'
import { toHttpError } from './http-errors.ts'
import { createLimiter, ipRateKey } from './rate-limit.ts'
import { countRejected } from './rejections.ts'
import { limiterAddress } from './client-address.ts'
import { strictBodyCompiler } from './strict-body.ts'

export interface V1EventsOptions {
  enricher: V1Enricher
  sink: EventSink
  lookupSite(siteId: string): Promise<{ deletedAt: string | null } | null>
  /** The site's sampling rules (sites/sampling.ts); kept rows carry the rule's rate. */
  samplingRules(siteId: string): Promise<SamplingRule[]>
  /** V1_EVENTS_MAX_PER_REQUEST. */
  maxEvents: number
  rateLimit: { perIpPerMinute: number; perSitePerMinute: number }
  clientIpHeader: string | undefined
  /**
   * Checks the request may write to `siteId` (write keys, browser tokens, signatures over the raw
   * body: write-auth.ts); throws AuthError (401/403).
   */
  authorize: (req: FastifyRequest, siteId: string, rawBody: string) => Promise<void>
}

export type V1EventStatus = 'accepted' | 'duplicate' | 'rejected' | 'sampled'

const bodySchema = {
  type: 'object',
  required: ['property_id', 'events'],
  // Unknown envelope fields are tolerated (forward compatible): no additionalProperties: false.
  properties: {
    schema_version: { anyOf: [{ type: 'integer' }, { type: 'string' }] },
    property_id: { type: 'string', minLength: 1, maxLength: 64 },
    sent_at: { anyOf: [{ type: 'string' }, { type: 'number' }] },
    events: { type: 'array' },
  },
}

const responseSchema = {
  200: {
    type: 'object',
    properties: {
      accepted: { type: 'integer' },
      duplicates: { type: 'integer' },
      sampled: { type: 'integer' },
      rejected: { type: 'integer' },
      errors: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            index: { type: 'integer' },
            event_id: { type: ['string', 'null'] },
            code: { type: 'string' },
            field: { type: 'string' },
            message: { type: 'string' },
          },
        },
      },
      events: {
        type: 'array',
        items: {
          type: 'object',
          properties: { event_id: { type: ['string', 'null'] }, status: { type: 'string' } },
        },
      },
    },
  },
}

interface Envelope {
  schema_version?: number | string
  property_id: string
  sent_at?: string | number
  events: unknown[]
}

interface EventError {
  index: number
  event_id: string | null
  code: string
  field?: string
  message: string
}

const eventIdOf = (raw: unknown): string | null => {
  const id = (raw as { event_id?: unknown } | null)?.event_id
  return typeof id === 'string' ? id : null
}

export async function v1EventsPlugin(app: FastifyInstance, opts: V1EventsOptions): Promise<void> {
  const { enricher, sink } = opts
  // The raw body is kept for the signature check (an HMAC is over the exact bytes sent).
  const rawBodies = new WeakMap<FastifyRequest, string>()
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = String(body)
    rawBodies.set(req, text)
    parseJson(req, text, done)
  })
  // No type coercion (a numeric property_id is a 400, not a string); unknown fields stay tolerated.
  app.setValidatorCompiler(strictBodyCompiler)
  const perIp = createLimiter(app, 'ip', opts.rateLimit.perIpPerMinute)
  const perSite = createLimiter(app, 'site', opts.rateLimit.perSitePerMinute)
  app.addHook('onRequest', async (req) => {
    if (req.method === 'POST') await perIp.hit(req, ipRateKey(limiterAddress(req, opts.clientIpHeader)))
  })

  app.post<{ Body: Envelope }>(
    '/events',
    { schema: { body: bodySchema, response: responseSchema } },
    async (req) => {
      const body = req.body
      if (body.events.length > opts.maxEvents)
        throw new ValidationError(
          'events',
          `must hold at most ${opts.maxEvents} events (V1_EVENTS_MAX_PER_REQUEST)`,
        )
      if (body.sent_at !== undefined) parseTimestamp(body.sent_at, 'sent_at')
      const siteId = body.property_id.toLowerCase()
      await opts.authorize(req, siteId, rawBodies.get(req) ?? '')
      const site = await opts.lookupSite(siteId)
      if (!site || site.deletedAt !== null)
        throw new ValidationError('property_id', `unknown or deleted site ${siteId}`)
      await perSite.hit(req, siteId)
      const rules = await opts.samplingRules(siteId)
      let sampled = 0

      const ctx: RequestContext = {
        headers: req.headers,
        socketIp: req.socket.remoteAddress,
        receivedAt: Date.now(),
      }
      const statuses: V1EventStatus[] = new Array(body.events.length)
      const errors: EventError[] = []
      const rows: RowsByTable = { pa_events: [], pa_sessions: [] }
      const indexOf = new Map<EventRow, number>()
      const sessionKeys: string[] = []
      body.events.forEach((raw, index) => {
        try {
          const out = enricher.enrich(siteId, raw, index, ctx)
          if (out.kind === 'bot') {
            statuses[index] = 'rejected'
            errors.push({ index, event_id: eventIdOf(raw), code: 'bot', message: 'the user agent is a bot' })
            return
          }
          const rule = rules.length > 0 ? ruleFor(rules, out.event.event_name ?? 'pageview') : undefined
          if (
            rule &&
            !keep(rule, { siteId, visitorKey: out.visitorKey, tsMs: out.event.event_time / 1000 })
          ) {
            if (out.session) enricher.forget(out.sessionKey)
            statuses[index] = 'sampled'
            sampled++
            return
          }
          if (rule && rule.rate < 1) out.event.sample_rate = rule.rate
          rows.pa_events.push(out.event)
          indexOf.set(out.event, index)
          if (out.session) {
            rows.pa_sessions.push(out.session)
            sessionKeys.push(out.sessionKey)
          }
          statuses[index] = 'accepted'
        } catch (err) {
          const http = toHttpError(err)
          if (http.status >= 500) throw err
          statuses[index] = 'rejected'
          errors.push({
            index,
            event_id: eventIdOf(raw),
            code: 'invalid',
            ...(http.body.error.field ? { field: http.body.error.field } : {}),
            message: http.body.error.message,
          })
        }
      })
      const rejected = errors.length
      if (sampled > 0) countRejected('sampled', sampled)
      if (rejected > 0) {
        countRejected('invalid', errors.filter((e) => e.code === 'invalid').length)
        countRejected('bot', errors.filter((e) => e.code === 'bot').length)
      }
      let duplicates = 0
      if (rows.pa_events.length > 0) {
        let result
        try {
          result = await sink.accept(rows, { claim: true })
        } catch (err) {
          for (const k of sessionKeys) enricher.forget(k)
          throw err
        }
        for (const row of result?.duplicates ?? []) {
          statuses[indexOf.get(row as EventRow)!] = 'duplicate'
          duplicates++
        }
      }
      return {
        accepted: rows.pa_events.length - duplicates,
        duplicates,
        sampled,
        rejected,
        errors,
        events: body.events.map((raw, i) => ({ event_id: eventIdOf(raw), status: statuses[i] })),
      }
    },
  )
}
