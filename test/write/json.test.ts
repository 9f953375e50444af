import { describe, expect, it } from 'vitest'
import { parseJson, stringifyJson } from '../../src/table/json.ts'

describe('BigInt-safe metadata JSON', () => {
  it('round-trips snapshot ids above 2^53 exactly, as written by other engines', () => {
    const text =
      '{"current-snapshot-id":9223372036854775807,"snapshots":[{"snapshot-id":4598286611352242701,' +
      '"parent-snapshot-id":9007199254740993,"sequence-number":3,"timestamp-ms":1764000000123}]}'
    const v = parseJson(text) as { 'current-snapshot-id': bigint; snapshots: Record<string, unknown>[] }
    expect(v['current-snapshot-id']).toBe(9223372036854775807n)
    expect(v.snapshots[0]['snapshot-id']).toBe(4598286611352242701n)
    expect(v.snapshots[0]['parent-snapshot-id']).toBe(9007199254740993n)
    expect(stringifyJson(v)).toBe(text)
  })

  it('types every long key as bigint even when small, other integers stay numbers', () => {
    const v = parseJson('{"last-sequence-number":0,"last-column-id":39,"format-version":2,"x":1.5e3}')
    expect(v).toEqual({ 'last-sequence-number': 0n, 'last-column-id': 39, 'format-version': 2, x: 1500 })
  })

  it('keeps unknown keys verbatim, including huge integers under unknown names', () => {
    const text =
      '{"some-engine-key":{"n":123456789012345678901,"s":"a\\"b\\u00e9","l":[true,false,null],"e":{}}}'
    const v = parseJson(text) as { 'some-engine-key': { n: bigint; s: string } }
    expect(v['some-engine-key'].n).toBe(123456789012345678901n)
    expect(v['some-engine-key'].s).toBe('a"bé')
    expect(parseJson(stringifyJson(v))).toEqual(v)
  })

  it('pretty-prints like JSON.stringify when asked', () => {
    const v = { a: [1, { b: 'x' }], c: {} as Record<string, never>, d: [] as number[] }
    expect(stringifyJson(v, 2)).toBe(JSON.stringify(v, null, 2))
  })

  it('writes bigints digit for digit at any depth and pretty-printed, and refuses values with no JSON form', () => {
    const v = {
      refs: { main: { 'snapshot-id': 9223372036854775807n } },
      ids: [-9223372036854775808n, 1n],
      n: 2,
    }
    expect(stringifyJson(v, 2)).toBe(
      JSON.stringify({ refs: { main: { 'snapshot-id': 1 } }, ids: [2, 3], n: 2 }, null, 2)
        .replace('"snapshot-id": 1', '"snapshot-id": 9223372036854775807')
        .replace(/\[\s*2,\s*3\s*\]/, '[\n    -9223372036854775808,\n    1\n  ]'),
    )
    // `ids` is no long key: its small integer reads back as a number, the huge one stays exact.
    expect(parseJson(stringifyJson(v))).toEqual({ ...v, ids: [-9223372036854775808n, 1] })
    expect(() => stringifyJson(undefined)).toThrow(TypeError)
    expect(() => stringifyJson(() => 1)).toThrow(TypeError)
  })

  it('rejects malformed JSON', () => {
    expect(() => parseJson('{"a":1,}')).toThrow(/offset/)
    expect(() => parseJson('{"a":1} x')).toThrow(/trailing/)
  })
})
