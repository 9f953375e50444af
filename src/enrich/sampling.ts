/**
 * Sampling decisions (pure): whether an event is kept under a site's rule for its type, so a site
 * can keep a fraction of a high-volume event and pay for less. Kept rows carry the rule's rate in
 * `pa_events.sample_rate`, so counts can be scaled back (count / rate).
 *
 * Modes:
 * - `random`: each event independently, with probability `rate`;
 * - `visitor`: deterministic by the visitor: the hash of `user_id_hash`, else `visitor_id`, else the
 *   session id, decides, so the same visitor is always in or always out (whole journeys are kept);
 * - `window`: by time: an event is kept when its timestamp falls in the first `rate` of each
 *   `window_seconds` window (e.g. 60 of every 600 seconds at rate 0.1), so kept data is complete
 *   within those slices.
 */
import { createHash } from 'node:crypto'

export type SamplingMode = 'random' | 'visitor' | 'window'

export interface SamplingRule {
  /** `pageview`, an event name, or `*` for every type without its own rule. */
  eventType: string
  mode: SamplingMode
  /** Kept fraction, 0 < rate <= 1. */
  rate: number
  /** `window` mode: the window length in seconds. */
  windowSeconds: number | null
}

/** The rule for an event type: its own, else `*`, else none. */
export function ruleFor(rules: readonly SamplingRule[], eventType: string): SamplingRule | undefined {
  return rules.find((r) => r.eventType === eventType) ?? rules.find((r) => r.eventType === '*')
}

/** A visitor key → [0, 1), uniform and stable (the first 52 bits of its SHA-256). */
export function unitHash(key: string): number {
  const h = createHash('sha256').update(key).digest()
  return (h.readUInt32BE(0) * 2 ** 20 + (h.readUInt32BE(4) >>> 12)) / 2 ** 52
}

export interface SampledEvent {
  siteId: string
  /** user_id_hash ?? visitor_id ?? session id. */
  visitorKey: string
  /** Event time, ms since epoch. */
  tsMs: number
}

export function keep(rule: SamplingRule, e: SampledEvent, random: () => number = Math.random): boolean {
  if (rule.rate >= 1) return true
  switch (rule.mode) {
    case 'random':
      return random() < rule.rate
    case 'visitor':
      return unitHash(`${e.siteId}\n${e.visitorKey}`) < rule.rate
    case 'window': {
      const w = (rule.windowSeconds ?? 3600) * 1000
      return ((e.tsMs % w) + w) % w < rule.rate * w
    }
  }
}
