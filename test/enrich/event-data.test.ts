import { describe, expect, it } from 'vitest'
import { flattenData, MAX_DATA_KEYS } from '../../src/enrich/event-data.ts'
import { ValidationError } from '../../src/errors.ts'

describe('event data', () => {
  it("flattens with Umami's key naming and stringifies leaves", () => {
    expect(
      flattenData(
        {
          plan: 'pro',
          n: 42,
          f: 1.5,
          ok: true,
          no: false,
          tags: ['a', 1],
          nothing: null,
          user: { id: 7, address: { city: 'X' } },
          empty: {},
        },
        'payload.data',
      ),
    ).toEqual({
      plan: 'pro',
      n: '42',
      f: '1.5',
      ok: 'true',
      no: 'false',
      tags: '["a",1]',
      nothing: 'null',
      'user.id': '7',
      'user.address.city': 'X',
    })
  })

  it("Umami's DATETIME_REGEX strings become ISO timestamps; other date forms stay strings", () => {
    expect(
      flattenData(
        { a: '2026-05-15T10:00:00.000Z', b: '2026-05-15T10:00:00', c: '2026-05-15T10:00:00Z' },
        'd',
      ),
    ).toEqual({
      a: '2026-05-15T10:00:00.000Z',
      b: new Date('2026-05-15T10:00:00').toISOString(),
      c: '2026-05-15T10:00:00Z',
    })
  })

  it('empty or absent data is null', () => {
    expect(flattenData(undefined, 'd')).toBeNull()
    expect(flattenData({}, 'd')).toBeNull()
    expect(flattenData({ a: {} }, 'd')).toBeNull()
  })

  it('cuts keys and values at 500 characters', () => {
    const out = flattenData({ ['k'.repeat(600)]: 'v'.repeat(900) }, 'd')!
    const [k, v] = Object.entries(out)[0]
    expect(k).toHaveLength(500)
    expect(v).toHaveLength(500)
  })

  it('rejects too many properties and too deep nesting, naming the field', () => {
    const many = Object.fromEntries(Array.from({ length: MAX_DATA_KEYS + 1 }, (_, i) => [`k${i}`, i]))
    expect(() => flattenData(many, 'payload.data')).toThrow(ValidationError)
    let deep: Record<string, unknown> = { x: 1 }
    for (let i = 0; i < 50; i++) deep = { d: deep }
    expect(() => flattenData(deep, 'payload.data')).toThrow(/payload.data/)
  })

  it('keys named __proto__ or constructor.prototype are plain entries (Umami accepts any key)', () => {
    const data = JSON.parse('{"__proto__":"x","constructor":{"prototype":{"a":1}}}') as Record<
      string,
      unknown
    >
    const out = flattenData(data, 'payload.data')!
    expect(Object.keys(out).sort()).toEqual(['__proto__', 'constructor.prototype.a'])
    expect(out['__proto__']).toBe('x')
    expect(Object.getPrototypeOf({})).toBe(Object.prototype) // nothing polluted
  })

  it('a date without a zone is read as UTC, whatever the host zone', () => {
    const tz = process.env.TZ
    process.env.TZ = 'America/New_York'
    try {
      expect(flattenData({ d: '2026-01-01T10:00:00' }, 'payload.data')).toEqual({
        d: '2026-01-01T10:00:00.000Z',
      })
      expect(flattenData({ d: '2026-01-01T10:00:00.000+02:00' }, 'payload.data')).toEqual({
        d: '2026-01-01T08:00:00.000Z',
      })
    } finally {
      if (tz === undefined) delete process.env.TZ
      else process.env.TZ = tz
    }
  })
})
