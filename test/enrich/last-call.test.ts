import { describe, expect, it } from 'vitest'
import { LastCall } from '../../src/enrich/last-call.ts'

describe('LastCall', () => {
  it('answers the last result while the keys are the same, and computes again when one changes', () => {
    const memo = new LastCall<string>()
    let computed = 0
    const get = (...keys: unknown[]) => memo.get(keys, () => `${++computed}:${keys.join('|')}`)
    expect(get('a', 1)).toBe('1:a|1')
    expect(get('a', 1)).toBe('1:a|1')
    expect(get('a', 2)).toBe('2:a|2')
    expect(get('a', 1)).toBe('3:a|1') // one entry: the older call is gone
    expect(get('a', 1, undefined)).toBe('4:a|1|') // a different number of keys never matches
    expect(computed).toBe(4)
  })

  it('compares objects by identity, and keeps nothing from a computation that threw', () => {
    const memo = new LastCall<number>()
    const headers = { ua: 'x' }
    expect(memo.get([headers], () => 1)).toBe(1)
    expect(memo.get([{ ua: 'x' }], () => 2)).toBe(2) // equal content, another object
    expect(() =>
      memo.get(['bad'], () => {
        throw new Error('invalid')
      }),
    ).toThrow('invalid')
    expect(memo.get(['bad'], () => 3)).toBe(3)
  })
})
