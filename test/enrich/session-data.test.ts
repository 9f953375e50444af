/**
 * Issue 9 item 2: identify data is bounded. Each pa_sessions row carries only what its call sent
 * (storage grows linearly with what is sent, not quadratically), keys per session and bytes per
 * value are limited, and past a limit the call is a 400 naming the field.
 */
import { describe, expect, it } from 'vitest'
import { createPipeline } from '../../src/enrich/process.ts'
import { ValidationError } from '../../src/errors.ts'
import { loadConfig } from '../../src/config.ts'

const SITE = '11111111-1111-4111-8111-111111111111'
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
const AT = Date.parse('2026-05-15T12:34:56Z')

const pipeline = (limits?: { maxKeys: number; maxValueBytes: number }) =>
  createPipeline({
    appSecret: 's',
    clientIpHeader: undefined,
    ignoreIp: [],
    disableBotCheck: false,
    lookupSite: async () => ({ deletedAt: null }),
    sessionData: limits,
  })
const ctx = (i = 0) => ({
  headers: { 'user-agent': CHROME, 'x-forwarded-for': '203.0.113.5' },
  socketIp: '127.0.0.1',
  receivedAt: AT + i,
})
const identify = (data: Record<string, unknown>) => ({
  type: 'identify',
  payload: { website: SITE, id: 'u', data },
})

describe('identify session data', () => {
  it('grows linearly: map entries written equal the keys sent, over 10 calls of 20 new keys', async () => {
    const p = pipeline()
    let entries = 0
    let bytes = 0
    for (let call = 0; call < 10; call++) {
      const data = Object.fromEntries(
        Array.from({ length: 20 }, (_, k) => [`k${call}_${k}`, 'v'.repeat(400)]),
      )
      const out = await p.process(identify(data), ctx(call))
      if (out.kind !== 'accepted') throw new Error('expected rows')
      const row = out.rows.pa_sessions[0]
      expect(Object.keys(row.session_data!)).toHaveLength(20)
      entries += Object.keys(row.session_data!).length
      bytes += JSON.stringify(row.session_data).length
    }
    // Before: each row repeated every earlier key, 20 + 40 + … + 200 = 1100 entries.
    expect(entries).toBe(200)
    expect(bytes).toBeLessThan(200 * 420)
  })

  it('refuses keys past SESSION_DATA_MAX_KEYS for the session with a 400 naming payload.data', async () => {
    const p = pipeline({ maxKeys: 30, maxValueBytes: 500 })
    const keys = (from: number, n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${from + i}`, 'x']))
    expect((await p.process(identify(keys(0, 20)), ctx())).kind).toBe('accepted')
    // Re-sending known keys does not count twice.
    expect((await p.process(identify(keys(0, 20)), ctx(1))).kind).toBe('accepted')
    const over = p.process(identify(keys(20, 11)), ctx(2))
    await expect(over).rejects.toBeInstanceOf(ValidationError)
    await expect(over).rejects.toMatchObject({ field: 'payload.data' })
    // The refused call left nothing behind: 10 more new keys still fit.
    expect((await p.process(identify(keys(20, 10)), ctx(3))).kind).toBe('accepted')
  })

  it('refuses a value over SESSION_DATA_MAX_VALUE_BYTES, naming its key', async () => {
    const p = pipeline({ maxKeys: 200, maxValueBytes: 100 })
    const ok = await p.process(identify({ plan: 'é'.repeat(50) }), ctx()) // 100 bytes
    expect(ok.kind).toBe('accepted')
    await expect(p.process(identify({ plan: 'é'.repeat(51) }), ctx(1))).rejects.toMatchObject({
      field: 'payload.data.plan',
    })
  })

  it('the limits are env settings', () => {
    const c = loadConfig({ SESSION_DATA_MAX_KEYS: '50', SESSION_DATA_MAX_VALUE_BYTES: '1000' })
    expect(c.sessionData).toEqual({ maxKeys: 50, maxValueBytes: 1000 })
    expect(loadConfig({}).sessionData).toEqual({ maxKeys: 200, maxValueBytes: 500 })
  })
})
