import { describe, expect, it } from 'vitest'
import { SchemaMismatchError } from '../../src/errors.ts'
import { validateRows } from '../../src/write/validate.ts'
import { loadTableDefinition } from '../../src/write/table-definition.ts'
import { eventRows } from './support/event-rows.ts'

const def = loadTableDefinition('pa_events')
const valid = () => eventRows(3, { seed: 3 }) as unknown as Record<string, unknown>[]

function mismatch(rows: Record<string, unknown>[]): SchemaMismatchError {
  try {
    validateRows('pa_events', def.schema, rows)
  } catch (err) {
    expect(err).toBeInstanceOf(SchemaMismatchError)
    return err as SchemaMismatchError
  }
  throw new Error('expected SchemaMismatchError')
}

describe('row validation against the table schema', () => {
  it('accepts rows as the buffer holds them (optional columns null or absent)', () => {
    const rows = valid()
    delete rows[0].utm_term
    expect(() => validateRows('pa_events', def.schema, rows)).not.toThrow()
  })

  it('names the column of a missing required value', () => {
    const rows = valid()
    rows[1].session_id = null
    const err = mismatch(rows)
    expect([err.table, err.column]).toEqual(['pa_events', 'session_id'])
    expect(err.message).toMatch(/row 1: missing required column/)
  })

  it('rejects a value of the wrong type', () => {
    const rows = valid()
    rows[2].event_time = '2026-11-24T00:00:00Z'
    expect(mismatch(rows).column).toBe('event_time')
    const rows2 = valid()
    rows2[0].event_type = 1.5
    expect(mismatch(rows2).message).toMatch(/32-bit integer/)
    const rows3 = valid()
    rows3[0].url_path = 42
    expect(mismatch(rows3).message).toMatch(/expected string, got number 42/)
  })

  it('rejects non-string map values and non-object maps', () => {
    const rows = valid()
    rows[0].event_data = { a: 1 }
    expect(mismatch(rows).message).toMatch(/map value for key "a"/)
    const rows2 = valid()
    rows2[0].event_data = ['a']
    expect(mismatch(rows2).column).toBe('event_data')
  })

  it('rejects a key that is not a column (a typo would silently drop data)', () => {
    const rows = valid()
    rows[0].url_pth = '/x'
    expect(mismatch(rows).column).toBe('url_pth')
  })

  it('reports the first offending row even when a later column fails on an earlier row', () => {
    const rows = valid()
    rows[2].site_id = null // column 1, row 2
    rows[1].event_data = { a: 1 } // last column, row 1: first in row order
    const err = mismatch(rows)
    expect([err.column, err.message]).toEqual(['event_data', expect.stringMatching(/^.*row 1:/)])
  })

  it('accepts a key explicitly set to undefined (an absent optional value)', () => {
    const rows = valid()
    rows[0].utm_term = undefined
    expect(() => validateRows('pa_events', def.schema, rows)).not.toThrow()
  })
})
