/**
 * `POST /api/admin/replay` (Bearer `ADMIN_TOKEN`): re-sends refused events from `pa_rejected`
 * through the pipeline after a fix (docs/dead-letter.md), each at most once.
 *
 * Body (strict): any of `site_id`, `from` / `to` (received time, RFC 3339 or epoch ms; `to`
 * exclusive), `reasons` (`invalid`, `signature`, `sampled_out`) and `ids` (rejected ids), at least
 * one. The selected rows (oldest first, at most FLOE_REPLAY_MAX_EVENTS) are claimed in the replay
 * markers (replay/markers.ts); rows another replay already claimed are skipped. Each claimed event
 * is enriched as when it arrived: same endpoint checks, its stored headers, its original received
 * time (so time windows judge it as then), the site's current sampling rules; no client IP (none
 * was kept). The signature is not checked again: the admin token is the credential. Accepted rows
 * go to the sink in one call, with `/v1/events` ids claimed in the idempotency ledger.
 *
 * Answer: `{selected, skipped, replayed, accepted, duplicates, rejected, more, events[]}` with one
 * `{rejected_id, event_id, status, code?, field?, message?}` per replayed event. A refused-again
 * event is released (a later replay may try it after the next fix) and not written to
 * `pa_rejected` again; an accepted one is never replayed again.
 */
import type { FastifyInstance } from 'fastify'
import type { EventSink } from '../buffer/sink.ts'
import type { EventRow, RejectedReason, RejectedRow, RowsByTable } from '../rows.ts'
import type { Pipeline, RequestContext } from '../enrich/process.ts'
import type { V1Enricher } from '../enrich/v1-event.ts'
import { parseTimestamp } from '../enrich/v1-event.ts'
import type { SamplingRule } from '../enrich/sampling.ts'
import type { ReplayMarkers } from '../replay/markers.ts'
import type { ReplaySelection } from '../replay/read-rejected.ts'
import { ValidationError } from '../errors.ts'
import { metrics } from '../observe/metrics.ts'
import { checkAdmin } from './admin-auth.ts'
import { strictBodyCompiler } from './strict-body.ts'
import { toHttpError } from './http-errors.ts'
import { processV1Events } from './v1-process.ts'

export interface ReplayOptions {
  adminToken: string | undefined
  /** Commits what this replica holds, then reads the selected `pa_rejected` rows. */
  read(sel: ReplaySelection): Promise<RejectedRow[]>
  markers: ReplayMarkers
  enricher: V1Enricher
  pipeline: Pipeline
  sink: EventSink
  lookupSite(siteId: string): Promise<{ deletedAt: string | null } | null>
  samplingRules(siteId: string): Promise<SamplingRule[]>
  /** FLOE_REPLAY_MAX_EVENTS. */
  maxEvents: number
}

const REASONS: readonly RejectedReason[] = ['invalid', 'signature', 'sampled_out']

interface Body {
  site_id?: string
  from?: string | number
  to?: string | number
  reasons?: RejectedReason[]
  ids?: string[]
}

type Status = 'accepted' | 'duplicate' | 'rejected'

interface EventResult {
  rejected_id: string
  event_id: string | null
  status: Status
  code?: string
  field?: string
  message?: string
}

export async function adminReplayRoute(app: FastifyInstance, opts: ReplayOptions): Promise<void> {
  const time = {
    anyOf: [
      { type: 'string', minLength: 1, maxLength: 40 },
      { type: 'integer', minimum: 0 },
    ],
  }
  app.post<{ Body: Body }>(
    '/api/admin/replay',
    {
      onRequest: async (req) => checkAdmin(req, opts.adminToken),
      validatorCompiler: strictBodyCompiler,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            site_id: { type: 'string', format: 'uuid' },
            from: time,
            to: time,
            reasons: {
              type: 'array',
              minItems: 1,
              uniqueItems: true,
              items: { type: 'string', enum: [...REASONS] },
            },
            ids: {
              type: 'array',
              minItems: 1,
              maxItems: opts.maxEvents,
              uniqueItems: true,
              items: { type: 'string', format: 'uuid' },
            },
          },
        },
      },
    },
    async (req) => {
      const b = req.body
      const sel: ReplaySelection = {
        siteId: b.site_id?.toLowerCase(),
        fromMs: b.from === undefined ? undefined : parseTimestamp(b.from, 'from'),
        toMs: b.to === undefined ? undefined : parseTimestamp(b.to, 'to'),
        reasons: b.reasons,
        ids: b.ids?.map((i) => i.toLowerCase()),
      }
      if (sel.fromMs !== undefined && sel.toMs !== undefined && sel.toMs <= sel.fromMs)
        throw new ValidationError('to', 'must be after from')
      const selected = await opts.read(sel)
      const batch = selected.slice(0, opts.maxEvents)
      const claimed = await opts.markers.claim(
        batch.map((r) => ({ rejectedId: r.rejected_id, siteId: r.site_id })),
      )
      const toSend = batch.filter((r) => claimed.has(r.rejected_id))
      let results: EventResult[]
      try {
        results = await replay(toSend, opts)
      } catch (err) {
        // Nothing was taken (the sink refused, 503): every claim goes, a later replay retries.
        await opts.markers.release(toSend.map((r) => r.rejected_id)).catch(() => undefined)
        throw err
      }
      {
        const ids = (s: Status) => results.filter((r) => r.status === s).map((r) => r.rejected_id)
        await opts.markers.settle(ids('accepted'), 'accepted')
        await opts.markers.settle(ids('duplicate'), 'duplicate')
        await opts.markers.release(ids('rejected'))
        for (const s of ['accepted', 'duplicate', 'rejected'] as const)
          metrics.replayed.inc({ outcome: s }, ids(s).length)
        return {
          selected: selected.length,
          skipped: batch.length - toSend.length,
          replayed: results.length,
          accepted: ids('accepted').length,
          duplicates: ids('duplicate').length,
          rejected: ids('rejected').length,
          more: selected.length > batch.length,
          events: results,
        }
      }
    },
  )
}

/** Enriches each refused event again and hands the accepted rows to the sink in one call. */
async function replay(rows: readonly RejectedRow[], opts: ReplayOptions): Promise<EventResult[]> {
  const results: EventResult[] = []
  const accepted: RowsByTable = { pa_events: [], pa_sessions: [] }
  const resultOf = new Map<EventRow, EventResult>()
  const rollbacks: Array<() => void> = []
  const refused = (r: RejectedRow, code: string, message: string, field?: string) =>
    results.push({
      rejected_id: r.rejected_id,
      event_id: r.event_id,
      status: 'rejected',
      code,
      ...(field ? { field } : {}),
      message,
    })
  for (const r of rows) {
    let raw: unknown
    try {
      raw = JSON.parse(r.payload)
    } catch {
      refused(r, 'invalid', 'the stored payload is not JSON', 'payload')
      continue
    }
    const ctx: RequestContext = {
      headers: r.headers ?? {},
      socketIp: undefined,
      receivedAt: Math.floor(r.received_at / 1000),
    }
    if (r.endpoint === '/v1/events') {
      const site = await opts.lookupSite(r.site_id)
      if (!site || site.deletedAt !== null) {
        refused(r, 'invalid', `unknown or deleted site ${r.site_id}`, 'property_id')
        continue
      }
      const rules = await opts.samplingRules(r.site_id)
      const b = processV1Events(opts.enricher, r.site_id, [raw], ctx, rules, undefined)
      const status = b.statuses[0]
      if (status === 'sampled') {
        refused(r, 'sampled_out', "sampled out by the site's current rule")
        continue
      }
      if (status !== 'accepted') {
        const e = b.errors[0]
        refused(r, e?.code ?? 'invalid', e?.message ?? 'refused', e?.field)
        continue
      }
      const result: EventResult = { rejected_id: r.rejected_id, event_id: r.event_id, status: 'accepted' }
      results.push(result)
      for (const ev of b.rows.pa_events) resultOf.set(ev, result)
      accepted.pa_events.push(...b.rows.pa_events)
      accepted.pa_sessions.push(...b.rows.pa_sessions)
      rollbacks.push(() => b.sessionKeys.forEach((k) => opts.enricher.forget(k)))
      continue
    }
    try {
      const outcome = await opts.pipeline.process(raw, ctx)
      if (outcome.kind === 'bot') {
        refused(r, 'bot', 'the user agent is a bot')
        continue
      }
      results.push({ rejected_id: r.rejected_id, event_id: r.event_id, status: 'accepted' })
      accepted.pa_events.push(...outcome.rows.pa_events)
      accepted.pa_sessions.push(...outcome.rows.pa_sessions)
      rollbacks.push(outcome.rollback)
    } catch (err) {
      const http = toHttpError(err)
      if (http.status >= 500) throw err
      refused(r, 'invalid', http.body.error.message, http.body.error.field)
    }
  }
  if (accepted.pa_events.length + accepted.pa_sessions.length === 0) return results
  let taken
  try {
    taken = await opts.sink.accept(accepted, { claim: true })
  } catch (err) {
    for (const rb of rollbacks) rb()
    throw err
  }
  for (const row of taken?.duplicates ?? []) {
    const result = resultOf.get(row as EventRow)
    if (result) result.status = 'duplicate'
  }
  return results
}
