import { describe, expect, it } from 'vitest'
import {
  bindSpec,
  dayFromMicros,
  dayToHuman,
  groupByPartition,
  partitionPath,
} from '../../src/write/partition.ts'
import { loadTableDefinition } from '../../src/write/table-definition.ts'

const us = (iso: string) => Date.parse(iso) * 1000

describe('day transform', () => {
  it('gives days since 1970-01-01 (spec example: 2026-01-24 is day 20477)', () => {
    expect(dayFromMicros(us('2026-01-24T00:00:00Z'))).toBe(20477)
    expect(dayFromMicros(us('2026-01-24T23:59:59.999Z') + 999)).toBe(20477)
    expect(dayFromMicros(0)).toBe(0)
    expect(dayToHuman(20477)).toBe('2026-01-24')
  })

  it('floors instants before the epoch into the earlier day', () => {
    expect(dayFromMicros(-1)).toBe(-1)
    expect(dayFromMicros(-86_400_000_000)).toBe(-1)
    expect(dayFromMicros(-86_400_000_001)).toBe(-2)
    expect(dayFromMicros(-1n)).toBe(-1)
    expect(dayToHuman(-1)).toBe('1969-12-31')
  })
})

describe('partition paths and grouping', () => {
  const def = loadTableDefinition('pa_events')
  const fields = bindSpec(def['partition-spec'], def.schema)

  it('binds pa_events to day(event_time) → date and identity(site_id) → string', () => {
    expect(fields.map((f) => [f.name, f.transform, f.sourceName, f.resultType, f.fieldId])).toEqual([
      ['event_time_day', 'day', 'event_time', 'date', 1000],
      ['site_id', 'identity', 'site_id', 'string', 1001],
    ])
  })

  it('formats like Java partitionToPath, URL-encoding values', () => {
    const site = '5b7a4c7e-0f1c-4d0e-9a3b-2f6d8e9c1a2b'
    expect(partitionPath(fields, [20477, site])).toBe(`event_time_day=2026-01-24/site_id=${site}`)
    expect(partitionPath(fields, [null, 'a b/c'])).toBe('event_time_day=null/site_id=a+b%2Fc')
  })

  it('groups rows per partition tuple in first-seen order', () => {
    const rows = [
      { event_time: us('2026-11-24T10:00:00Z'), site_id: 'a' },
      { event_time: us('2026-11-25T10:00:00Z'), site_id: 'a' },
      { event_time: us('2026-11-24T23:00:00Z'), site_id: 'a' },
      { event_time: us('2026-11-24T01:00:00Z'), site_id: 'b' },
    ]
    const groups = groupByPartition(fields, rows)
    expect(groups.map((g) => [g.path, g.rows.length])).toEqual([
      ['event_time_day=2026-11-24/site_id=a', 2],
      ['event_time_day=2026-11-25/site_id=a', 1],
      ['event_time_day=2026-11-24/site_id=b', 1],
    ])
    expect(groups[0].tuple).toEqual([dayFromMicros(us('2026-11-24T00:00:00Z')), 'a'])
  })

  it('keeps a null value and the string "null" apart', () => {
    const sessFields = fields.slice(1)
    const groups = groupByPartition(sessFields, [{ site_id: null }, { site_id: 'null' }])
    expect(groups).toHaveLength(2)
  })
})
