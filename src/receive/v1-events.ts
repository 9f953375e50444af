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
import type { EventRow, RejectedRow } from '../rows.ts'
import { SignatureError, ValidationError } from '../errors.ts'
import type { RequestContext } from '../enrich/process.ts'
import { parseTimestamp, type V1Enricher } from '../enrich/v1-event.ts'
import type { SamplingRule } from '../enrich/sampling.ts'
import { rejectedRow } from '../enrich/rejected.ts'
import { metrics } from '../observe/metrics.ts'
import { eventIdOf, processV1Events, type DeadLetterPolicy } from './v1-process.ts'
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
  /** What refusals go to `pa_rejected` (FLOE_DEAD_LETTER*); absent = none. */
  deadLetter?: DeadLetterPolicy
}

/** `floe_dead_lettered_total{reason}`. */
export function countDeadLettered(rows: readonly RejectedRow[]): void {
  for (const r of rows) metrics.deadLettered.inc({ reason: r.reason })
}

export type { V1EventStatus } from './v1-process.ts'

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

  async function deadLetterAll(
    req: FastifyRequest,
    siteId: string,
    body: Envelope,
    receivedAt: number,
    err: SignatureError,
  ): Promise<void> {
    const site = await opts.lookupSite(siteId)
    if (!site || site.deletedAt !== null || body.events.length === 0) return
    const refused = body.events.map((raw) =>
      rejectedRow({
        siteId,
        receivedAt,
        endpoint: '/v1/events',
        reason: 'signature',
        message: err.message,
        eventId: eventIdOf(raw),
        raw,
        headers: req.headers,
      }),
    )
    await sink.accept({ pa_events: [], pa_sessions: [], pa_rejected: refused })
    countDeadLettered(refused)
  }

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
      const receivedAt = Date.now()
      try {
        await opts.authorize(req, siteId, rawBodies.get(req) ?? '')
      } catch (err) {
        // A known sender (valid write key) whose signature failed: its events are kept for replay.
        if (err instanceof SignatureError && opts.deadLetter)
          await deadLetterAll(req, siteId, body, receivedAt, err)
        throw err
      }
      const site = await opts.lookupSite(siteId)
      if (!site || site.deletedAt !== null)
        throw new ValidationError('property_id', `unknown or deleted site ${siteId}`)
      await perSite.hit(req, siteId)
      const rules = await opts.samplingRules(siteId)
      const ctx: RequestContext = {
        headers: req.headers,
        socketIp: req.socket.remoteAddress,
        receivedAt,
      }
      const batch = processV1Events(enricher, siteId, body.events, ctx, rules, opts.deadLetter)
      const { statuses, errors, sampled, rows, indexOf, sessionKeys } = batch
      const rejected = errors.length
      if (sampled > 0) countRejected('sampled', sampled)
      if (rejected > 0) {
        countRejected('invalid', errors.filter((e) => e.code === 'invalid').length)
        countRejected('bot', errors.filter((e) => e.code === 'bot').length)
      }
      let duplicates = 0
      // Refusals go in the same WAL record as the accepted rows: durable before the answer.
      if (rows.pa_events.length > 0 || rows.pa_rejected.length > 0) {
        let result
        try {
          result = await sink.accept(rows, { claim: true })
        } catch (err) {
          for (const k of sessionKeys) enricher.forget(k)
          throw err
        }
        countDeadLettered(rows.pa_rejected)
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
