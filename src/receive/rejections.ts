/**
 * Why an event was not stored, as the `reason` label of `floe_events_rejected_total`, from the
 * HTTP status its error maps to (http-errors.ts is the one place statuses are decided). Used for
 * whole requests (metrics-route.ts) and for each item of a batch and each bot (collect.ts), so
 * every drop is counted, also the ones answered 200.
 */
import { metrics } from '../observe/metrics.ts'

const REASONS: Record<number, string> = {
  400: 'invalid',
  403: 'ignored_ip',
  413: 'too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
}

export function reasonOf(status: number): string {
  return REASONS[status] ?? (status >= 500 ? 'server_error' : 'client_error')
}

export function countRejected(reason: string, n = 1): void {
  metrics.eventsRejected.inc({ reason }, n)
}
