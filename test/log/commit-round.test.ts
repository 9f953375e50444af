/**
 * The exactly-once rules of a coordinator round (src/log/commit-round.ts), judged against the
 * positions a table holds: held requests are dropped, partly held ones rejected, and of two
 * requests claiming the same positions in one round only the first is accepted.
 */
import { describe, expect, it } from 'vitest'
import { planRound, standing } from '../../src/log/commit-round.ts'
import type { Claim, CommitRequest } from '../../src/log/commit-requests.ts'

const request = (id: string, positions: Claim): CommitRequest => ({
  id,
  table: 'pa_events',
  writer: 'w',
  files: [],
  records: 1,
  positions,
  createdMs: 0,
})
const held = (o: Record<string, number>) => new Map(Object.entries(o))

describe('standing of a claim against the table', () => {
  it('is new when the table holds every partition below its first position', () => {
    expect(standing({ 'nats/s/0': { first: 11, last: 20 } }, held({ 'nats/s/0': 10 }))).toBe('new')
    expect(standing({ 'nats/s/0': { first: 1, last: 5 } }, held({}))).toBe('new')
  })

  it('is held when the table holds every partition up to its last position', () => {
    const claim = { 'nats/s/0': { first: 11, last: 20 }, 'nats/s/1': { first: 3, last: 4 } }
    expect(standing(claim, held({ 'nats/s/0': 20, 'nats/s/1': 9 }))).toBe('held')
  })

  it('is partial when the table holds a partition inside its range', () => {
    expect(standing({ 'nats/s/0': { first: 11, last: 20 } }, held({ 'nats/s/0': 15 }))).toBe('partial')
    expect(standing({ 'nats/s/0': { first: 11, last: 20 } }, held({ 'nats/s/0': 11 }))).toBe('partial')
  })

  it('is partial when one partition is held and another is new', () => {
    const claim = { 'nats/s/0': { first: 11, last: 20 }, 'nats/s/1': { first: 3, last: 4 } }
    expect(standing(claim, held({ 'nats/s/0': 20, 'nats/s/1': 2 }))).toBe('partial')
  })
})

describe('one round', () => {
  it('accepts disjoint requests of several writers and answers the highest position per partition', () => {
    const plan = planRound(held({ 'nats/s/0': 10 }), [
      request('a', { 'nats/s/0': { first: 11, last: 20 } }),
      request('b', { 'nats/s/1': { first: 1, last: 7 } }),
      request('c', { 'nats/s/0': { first: 21, last: 25 }, 'nats/s/2': { first: 4, last: 4 } }),
    ])
    expect(plan.accepted.map((r) => r.id)).toEqual(['a', 'b', 'c'])
    expect(plan.positions).toEqual({ 'nats/s/0': 25, 'nats/s/1': 7, 'nats/s/2': 4 })
    expect([...plan.held, ...plan.rejected, ...plan.deferred]).toEqual([])
  })

  it('drops a request the table holds, rejects one it holds in part, commits the rest', () => {
    const plan = planRound(held({ 'nats/s/0': 20, 'nats/s/1': 5 }), [
      request('landed', { 'nats/s/0': { first: 11, last: 20 } }),
      request('mixed', { 'nats/s/1': { first: 3, last: 9 } }),
      request('fresh', { 'nats/s/1': { first: 6, last: 9 } }),
    ])
    expect(plan.held.map((r) => r.id)).toEqual(['landed'])
    expect(plan.rejected.map((r) => r.id)).toEqual(['mixed'])
    expect(plan.accepted.map((r) => r.id)).toEqual(['fresh'])
    expect(plan.positions).toEqual({ 'nats/s/1': 9 })
  })

  it('of two requests claiming the same positions, lands only the first and leaves the other for the next round', () => {
    // A partition moved under load: its old and new owner both staged positions 11..20.
    const plan = planRound(held({ 'nats/s/0': 10 }), [
      request('old-owner', { 'nats/s/0': { first: 11, last: 18 } }),
      request('new-owner', { 'nats/s/0': { first: 11, last: 20 } }),
    ])
    expect(plan.accepted.map((r) => r.id)).toEqual(['old-owner'])
    expect(plan.deferred.map((r) => r.id)).toEqual(['new-owner'])
    expect(plan.positions).toEqual({ 'nats/s/0': 18 })
    // Next round, against the table after the commit: the new owner's request is partly held.
    const next = planRound(held({ 'nats/s/0': 18 }), plan.deferred)
    expect(next.rejected.map((r) => r.id)).toEqual(['new-owner'])
    expect(next.accepted).toEqual([])
  })
})
