import { describe, expect, it } from 'vitest'
import { parseJson } from '../../src/table/json.ts'
import { assertJsonDepth, MAX_JSON_DEPTH } from '../../src/table/json-depth.ts'
import { JsonSyntaxError } from '../../src/table/json-error.ts'

describe('JSON nesting limit', () => {
  it('parseJson refuses 100,000 levels with JsonSyntaxError instead of overflowing the stack', () => {
    for (const text of [
      '['.repeat(100_000),
      '['.repeat(100_000) + ']'.repeat(100_000),
      '{"k":'.repeat(100_000),
    ])
      expect(() => parseJson(text)).toThrow(JsonSyntaxError)
  })

  it('accepts exactly MAX_JSON_DEPTH levels and refuses one more', () => {
    const nested = (n: number) => '['.repeat(n) + '1' + ']'.repeat(n)
    expect(() => parseJson(nested(MAX_JSON_DEPTH))).not.toThrow()
    expect(() => parseJson(nested(MAX_JSON_DEPTH + 1))).toThrow(/nesting deeper than 256 levels/)
  })

  it('brackets inside strings, escaped quotes included, do not count', () => {
    const s = JSON.stringify({ a: '[[[[{{{{\\"[[[[' + '['.repeat(1000) })
    expect(() => assertJsonDepth(s, 2)).not.toThrow()
    expect(parseJson(s)).toEqual(JSON.parse(s))
  })
})
