import { describe, expect, it } from 'vitest'
import {
  encodeBound,
  truncateBinaryMax,
  truncateStringMax,
  truncateStringMin,
} from '../../src/write/bounds.ts'

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined)

describe('Iceberg single-value binary encoding (spec Appendix D)', () => {
  it('int and date: 4-byte little-endian two’s complement', () => {
    expect(hex(encodeBound('int', 1))).toBe('01000000')
    expect(hex(encodeBound('int', -2))).toBe('feffffff')
    expect(hex(encodeBound('date', 20477))).toBe('fd4f0000')
  })

  it('long and timestamptz (µs since epoch): 8-byte little-endian', () => {
    expect(hex(encodeBound('long', 1n))).toBe('0100000000000000')
    // 2026-01-24T00:00:00Z = 1769212800000000 µs = 0x00064916f479e000
    expect(hex(encodeBound('timestamptz', 1769212800000000))).toBe('00e079f416490600')
    expect(hex(encodeBound('timestamptz', -1n))).toBe('ffffffffffffffff')
  })

  it('boolean, float and double', () => {
    expect(hex(encodeBound('boolean', true))).toBe('01')
    expect(hex(encodeBound('boolean', false))).toBe('00')
    expect(hex(encodeBound('float', 1))).toBe('0000803f')
    expect(hex(encodeBound('double', 1))).toBe('000000000000f03f')
  })

  it('string as UTF-8 without length; uuid as 16 big-endian bytes', () => {
    expect(hex(encodeBound('string', 'é1'))).toBe('c3a931')
    expect(hex(encodeBound('uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7'))).toBe(
      'f79c3e09677c4bbda4793f349cb785e7',
    )
  })
})

describe('truncate(16) metrics mode', () => {
  it('lower bound: first 16 code points; shorter strings unchanged', () => {
    expect(truncateStringMin('abcdefghijklmnopqrstuvwxyz', 16)).toBe('abcdefghijklmnop')
    expect(truncateStringMin('short', 16)).toBe('short')
    // a surrogate pair counts as one code point and is never split
    expect(truncateStringMin('😀'.repeat(20), 16)).toBe('😀'.repeat(16))
  })

  it('upper bound: truncate then increment the last code point', () => {
    expect(truncateStringMax('abcdefghijklmnopqrstuvwxyz', 16)).toBe('abcdefghijklmnoq')
    expect(truncateStringMax('short', 16)).toBe('short')
    expect(truncateStringMax('😀'.repeat(20), 16)).toBe('😀'.repeat(15) + '😁')
  })

  it('upper bound skips code points that cannot be incremented, or is absent', () => {
    const max = String.fromCodePoint(0x10ffff)
    expect(truncateStringMax('a' + max.repeat(20), 16)).toBe('b')
    expect(truncateStringMax(max.repeat(20), 16)).toBeUndefined()
    // U+D7FF + 1 lands in the surrogate range: skipped to U+E000
    expect(truncateStringMax('\ud7ff'.repeat(20), 16)).toBe('\ud7ff'.repeat(15) + '\ue000')
  })

  it('binary upper bound increments the last byte below 0xff', () => {
    expect(hex(truncateBinaryMax(Uint8Array.from([1, 2, 0xff, 4]), 3))).toBe('0103')
    expect(truncateBinaryMax(Uint8Array.from([0xff, 0xff, 1]), 2)).toBeUndefined()
  })
})
