/**
 * Sampling decisions (enrich/sampling.ts): random sampling at 10 % keeps 10 % within a binomial
 * tolerance; visitor sampling keeps whole visitors (every event of a visitor in, or every one out)
 * and about the rate of visitors; window sampling keeps exactly the first `rate` of each window.
 */
import { describe, expect, it } from 'vitest'
import { keep, ruleFor, type SamplingRule } from '../../src/enrich/sampling.ts'

const rule = (r: Partial<SamplingRule>): SamplingRule => ({
  eventType: '*',
  mode: 'random',
  rate: 0.1,
  windowSeconds: null,
  ...r,
})

describe('sampling', () => {
  it('random at 10 % keeps 10 % ± 4 standard deviations of 20,000 events', () => {
    const n = 20_000
    let kept = 0
    for (let i = 0; i < n; i++) if (keep(rule({}), { siteId: 's', visitorKey: `v${i}`, tsMs: i })) kept++
    const sd = Math.sqrt(n * 0.1 * 0.9) // 42
    expect(Math.abs(kept - n * 0.1)).toBeLessThan(4 * sd)
  })

  it('visitor sampling keeps whole visitors, about the rate of them', () => {
    const r = rule({ mode: 'visitor', rate: 0.1 })
    const visitors = 5000
    let keptVisitors = 0
    for (let v = 0; v < visitors; v++) {
      const decisions = new Set<boolean>()
      for (let e = 0; e < 10; e++)
        decisions.add(keep(r, { siteId: 'site-a', visitorKey: `visitor-${v}`, tsMs: e * 7_919_000 }))
      expect(decisions.size).toBe(1) // all in or all out
      if (decisions.has(true)) keptVisitors++
    }
    const sd = Math.sqrt(visitors * 0.1 * 0.9)
    expect(Math.abs(keptVisitors - visitors * 0.1)).toBeLessThan(4 * sd)
  })

  it('window sampling keeps the first rate of every window, nothing else', () => {
    const r = rule({ mode: 'window', rate: 0.1, windowSeconds: 600 })
    const kept: number[] = []
    for (let s = 0; s < 1200; s++) if (keep(r, { siteId: 's', visitorKey: 'v', tsMs: s * 1000 })) kept.push(s)
    expect(kept).toEqual([
      ...Array.from({ length: 60 }, (_, i) => i),
      ...Array.from({ length: 60 }, (_, i) => 600 + i),
    ])
  })

  it('an event type uses its own rule, else *, else none; rate 1 keeps all', () => {
    const rules = [rule({ eventType: '*', rate: 0.5 }), rule({ eventType: 'pageview', rate: 0.01 })]
    expect(ruleFor(rules, 'pageview')!.rate).toBe(0.01)
    expect(ruleFor(rules, 'signup')!.rate).toBe(0.5)
    expect(ruleFor([rule({ eventType: 'pageview' })], 'signup')).toBeUndefined()
    expect(keep(rule({ rate: 1 }), { siteId: 's', visitorKey: 'v', tsMs: 0 }, () => 0.999)).toBe(true)
  })
})
