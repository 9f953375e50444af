/**
 * The events of one `/v1/events` envelope → rows and one status per event: enrichment
 * (enrich/v1-event.ts), the site's sampling rules, and the refusals that go to the dead-letter
 * table (`pa_rejected`, docs/dead-letter.md): `invalid` events and, when
 * FLOE_DEAD_LETTER_SAMPLED_OUT is on, `sampled_out` ones. Bots are dropped as before (a bot is
 * not a mistake to fix and replay).
 *
 * Shared by the route (v1-events.ts) and the replay (admin-replay.ts), so a replayed event meets
 * exactly the checks a new one does.
 */
import type { EventRow, RejectedRow, RowsByTable } from '../rows.ts'
import type { RequestContext } from '../enrich/process.ts'
import type { V1Enricher } from '../enrich/v1-event.ts'
import { keep, ruleFor, type SamplingRule } from '../enrich/sampling.ts'
import { rejectedRow } from '../enrich/rejected.ts'
import { toHttpError } from './http-errors.ts'

export type V1EventStatus = 'accepted' | 'duplicate' | 'rejected' | 'sampled'

export interface EventError {
  index: number
  event_id: string | null
  code: string
  field?: string
  message: string
}

/** What goes to `pa_rejected` (absent: nothing, as for a replay, whose refusals stay where they are). */
export interface DeadLetterPolicy {
  sampledOut: boolean
}

export interface V1Batch {
  statuses: V1EventStatus[]
  errors: EventError[]
  sampled: number
  /** Accepted rows, plus the request's refusals in `pa_rejected`. */
  rows: RowsByTable & { pa_rejected: RejectedRow[] }
  /** Index in `events` of each accepted `pa_events` row. */
  indexOf: Map<EventRow, number>
  /** Session memos to forget if the sink refuses the rows. */
  sessionKeys: string[]
}

export const eventIdOf = (raw: unknown): string | null => {
  const id = (raw as { event_id?: unknown } | null)?.event_id
  return typeof id === 'string' ? id : null
}

export function processV1Events(
  enricher: V1Enricher,
  siteId: string,
  events: readonly unknown[],
  ctx: RequestContext,
  rules: readonly SamplingRule[],
  deadLetter: DeadLetterPolicy | undefined,
): V1Batch {
  const out: V1Batch = {
    statuses: new Array<V1EventStatus>(events.length),
    errors: [],
    sampled: 0,
    rows: { pa_events: [], pa_sessions: [], pa_rejected: [] },
    indexOf: new Map(),
    sessionKeys: [],
  }
  const refuse = (raw: unknown, reason: 'invalid' | 'sampled_out', field?: string, message?: string) => {
    if (!deadLetter) return
    out.rows.pa_rejected.push(
      rejectedRow({
        siteId,
        receivedAt: ctx.receivedAt,
        endpoint: '/v1/events',
        reason,
        field,
        message,
        eventId: eventIdOf(raw),
        raw,
        headers: ctx.headers,
      }),
    )
  }
  events.forEach((raw, index) => {
    try {
      const res = enricher.enrich(siteId, raw, index, ctx)
      if (res.kind === 'bot') {
        out.statuses[index] = 'rejected'
        out.errors.push({ index, event_id: eventIdOf(raw), code: 'bot', message: 'the user agent is a bot' })
        return
      }
      const rule = rules.length > 0 ? ruleFor(rules, res.event.event_name ?? 'pageview') : undefined
      if (rule && !keep(rule, { siteId, visitorKey: res.visitorKey, tsMs: res.event.event_time / 1000 })) {
        if (res.session) enricher.forget(res.sessionKey)
        out.statuses[index] = 'sampled'
        out.sampled++
        if (deadLetter?.sampledOut)
          refuse(raw, 'sampled_out', undefined, `sampled out by the site's rule (rate ${rule.rate})`)
        return
      }
      if (rule && rule.rate < 1) res.event.sample_rate = rule.rate
      out.rows.pa_events.push(res.event)
      out.indexOf.set(res.event, index)
      if (res.session) {
        out.rows.pa_sessions.push(res.session)
        out.sessionKeys.push(res.sessionKey)
      }
      out.statuses[index] = 'accepted'
    } catch (err) {
      const http = toHttpError(err)
      if (http.status >= 500) throw err
      out.statuses[index] = 'rejected'
      const field = http.body.error.field
      out.errors.push({
        index,
        event_id: eventIdOf(raw),
        code: 'invalid',
        ...(field ? { field } : {}),
        message: http.body.error.message,
      })
      refuse(raw, 'invalid', field, http.body.error.message)
    }
  })
  return out
}
