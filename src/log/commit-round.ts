/**
 * The exactly-once rules of one coordinator round (src/log/commit-coordinator.ts), as a pure
 * function of the positions the table holds and the pending requests, so they can be tested alone.
 *
 * The table's positions decide, as they do for a writer committing by itself (src/log/writer.ts):
 * - a request whose every partition the table holds up to its last position is `held`: its rows
 *   are in the table already (a coordinator committed it and died before recording so, or the
 *   partition moved and its next owner committed those positions first). Its files are left to
 *   orphan removal: when it was this very request that landed, they are the table's files;
 * - a request of which the table holds some positions but not all (for one partition, held at or
 *   past its first position; or one partition held, another not) is `rejected`: its files mix held
 *   and new rows and cannot be committed. Its writer drops the held rows and stages the rest again;
 * - otherwise it is `accepted`, and its positions count as held for the requests after it in the
 *   round: of two requests claiming the same positions only the first lands. A later one that
 *   overlaps an accepted one is `deferred` (left pending): the next round judges it against the
 *   table, which by then holds or does not hold the accepted one's rows.
 */
import type { Claim, CommitRequest } from './commit-requests.ts'

export interface RoundPlan {
  accepted: CommitRequest[]
  held: CommitRequest[]
  rejected: CommitRequest[]
  deferred: CommitRequest[]
  /** Per partition key, the highest last position of the accepted requests (the new table positions). */
  positions: Record<string, number>
}

/** How a claim stands against positions held (partition key → last held position; absent = none). */
export function standing(claim: Claim, held: ReadonlyMap<string, number>): 'new' | 'held' | 'partial' {
  let anyHeld = false
  let anyNew = false
  for (const [key, { first, last }] of Object.entries(claim)) {
    const h = held.get(key) ?? 0
    if (h >= last) anyHeld = true
    else if (h < first) anyNew = true
    else return 'partial' // held inside this request's range
  }
  if (anyHeld && anyNew) return 'partial'
  return anyHeld ? 'held' : 'new'
}

export function planRound(held: ReadonlyMap<string, number>, requests: readonly CommitRequest[]): RoundPlan {
  const plan: RoundPlan = { accepted: [], held: [], rejected: [], deferred: [], positions: {} }
  const inRound = new Map<string, number>()
  for (const r of requests) {
    const s = standing(r.positions, held)
    if (s === 'held') plan.held.push(r)
    else if (s === 'partial') plan.rejected.push(r)
    else if (Object.entries(r.positions).some(([key, { first }]) => (inRound.get(key) ?? 0) >= first))
      plan.deferred.push(r)
    else {
      plan.accepted.push(r)
      for (const [key, { last }] of Object.entries(r.positions)) {
        inRound.set(key, Math.max(inRound.get(key) ?? 0, last))
        plan.positions[key] = inRound.get(key)!
      }
    }
  }
  return plan
}
