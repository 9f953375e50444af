import { describe, expect, it } from 'vitest'
import { truncate } from '../../src/enrich/truncate.ts'
import { flattenData } from '../../src/enrich/event-data.ts'
import { pageColumns } from '../../src/enrich/url.ts'

const isWellFormed = (s: string) =>
  !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)

describe('truncation at 500 characters (issue 9 item 7)', () => {
  it('never splits a surrogate pair', () => {
    const s = 'a'.repeat(499) + '😀' + 'b'
    expect(truncate(s, 500)).toBe('a'.repeat(499))
    expect(truncate('😀'.repeat(300), 500)).toBe('😀'.repeat(250))
    expect(truncate('abc', 500)).toBe('abc')
  })

  it('event data keys and values stay well-formed', () => {
    const long = 'x'.repeat(499) + '😀'.repeat(3)
    const out = flattenData({ [long]: long }, 'payload.data')!
    const [[k, v]] = Object.entries(out)
    expect(isWellFormed(k) && isWellFormed(v)).toBe(true)
    expect(v).toBe('x'.repeat(499))
  })

  it('URL and title columns stay well-formed', () => {
    const title = 'T'.repeat(499) + '😀'
    const cols = pageColumns({ url: '/p', title } as never)
    expect(isWellFormed(cols.page_title!)).toBe(true)
    expect(cols.page_title).toBe('T'.repeat(499))
  })
})
