import { describe, expect, it } from 'vitest'
import { rowsJson } from '../../src/buffer/row-json.ts'
import { createPipeline } from '../../src/enrich/process.ts'
import { flattenData } from '../../src/enrich/event-data.ts'
import type { Row } from '../../src/rows.ts'

const SITE = '11111111-1111-4111-8111-111111111111'

/** What the WAL must read back: the rows as JSON.stringify would have written them. */
function expectSameAsJson(table: 'pa_events' | 'pa_sessions' | 'pa_rejected', rows: Row[]): void {
  const text = rowsJson(table, rows)
  expect(JSON.parse(text)).toStrictEqual(JSON.parse(JSON.stringify(rows)))
}

describe('rowsJson', () => {
  it('writes the rows the pipeline makes as JSON that parses back to the same rows', async () => {
    const p = createPipeline({
      appSecret: 's',
      clientIpHeader: undefined,
      ignoreIp: [],
      disableBotCheck: false,
      lookupSite: async () => ({ deletedAt: null }),
    })
    const ctx = {
      headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0' },
      socketIp: '203.0.113.9',
      receivedAt: Date.now(),
    }
    const events: Row[] = []
    const sessions: Row[] = []
    for (const payload of [
      {
        website: SITE,
        url: '/a?utm_source=x&gclid=1',
        title: 'T\u00e9 "q" \\ \u2028',
        data: { n: 1, nested: { b: true } },
      },
      { website: SITE, url: '/b', referrer: 'https://www.example.org/p?q=1', name: 'click' },
      { website: SITE, url: '/c', tag: 'v2', id: 'user-1' },
    ]) {
      const out = await p.process({ type: 'event', payload }, ctx)
      if (out.kind !== 'accepted') throw new Error('expected rows')
      events.push(...(out.rows.pa_events as unknown as Row[]))
      sessions.push(...(out.rows.pa_sessions as unknown as Row[]))
    }
    const identify = await p.process(
      { type: 'identify', payload: { website: SITE, data: { plan: 'pro' } } },
      ctx,
    )
    if (identify.kind !== 'accepted') throw new Error('expected rows')
    sessions.push(...(identify.rows.pa_sessions as unknown as Row[]))
    expectSameAsJson('pa_events', events)
    expectSameAsJson('pa_sessions', sessions)
    // Each row's values, keys aside, are what JSON.stringify writes.
    expect(rowsJson('pa_events', events).length).toBe(JSON.stringify(events).length)
  })

  it('falls back to JSON.stringify for values outside their column type, and keeps unknown keys', () => {
    const odd: Row[] = [
      { site_id: 5, event_time: 'yesterday', event_data: { k: 1 } } as unknown as Row,
      { site_id: 'a', event_time: NaN, sample_rate: Infinity } as unknown as Row,
      { site_id: { nested: [1, 'x'] }, extra_column: [null, { a: 1 }] } as unknown as Row,
      { site_id: 'a', event_time: 1, event_data: 'not a map' } as unknown as Row,
      { site_id: 'a', event_time: 1, hostname: undefined, country: true } as unknown as Row,
    ]
    for (const row of odd) expectSameAsJson('pa_events', [row])
    expectSameAsJson('pa_events', odd)
  })

  it('writes strings JSON needs escaped, lone surrogates and a __proto__ data key as JSON.stringify does', () => {
    const data = flattenData(
      JSON.parse('{"__proto__": "p", "constructor": {"prototype": 1}, "q\\"": "\\u0000\\ud800"}'),
      'payload.data',
    )
    const row = {
      site_id: '\ud83d\ude00 \ud800 \u2028 \u0007 </script>',
      event_time: 1.5,
      event_data: data,
    } as unknown as Row
    expect(rowsJson('pa_events', [row])).toBe(JSON.stringify([row]))
    expect(Object.keys(JSON.parse(rowsJson('pa_events', [row]))[0].event_data)).toEqual([
      '__proto__',
      'constructor.prototype',
      'q"',
    ])
  })

  it('writes the rejected table, whose payload is JSON text in a string column', () => {
    const rows = [
      {
        rejected_id: 'r1',
        site_id: SITE,
        received_at: 1,
        endpoint: '/api/send',
        reason: 'invalid',
        field: null,
        message: 'm',
        event_id: null,
        payload: '{"a":[1,2]}',
        headers: { 'user-agent': 'x' },
      },
    ] as unknown as Row[]
    expect(rowsJson('pa_rejected', rows)).toBe(JSON.stringify(rows))
  })
})
