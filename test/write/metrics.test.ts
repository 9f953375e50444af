import { describe, expect, it } from 'vitest'
import { encodeParquet } from '../../src/write/parquet.ts'
import { fileMetrics } from '../../src/write/metrics.ts'
import { encodeBound } from '../../src/write/bounds.ts'
import { loadTableDefinition } from '../../src/write/table-definition.ts'
import { eventRows } from './support/event-rows.ts'

const def = loadTableDefinition('pa_events')
const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined)

describe('data file metrics from the Parquet footer', () => {
  const rows = eventRows(200, { seed: 11 })
  rows.forEach((r, i) => {
    r.event_data =
      i % 4 === 0
        ? null
        : i % 4 === 1
          ? {}
          : i % 4 === 2
            ? { a: 'x', b: null as unknown as string }
            : { c: 'y' }
    r.url_path = i === 5 ? '/a-very-long-path-beyond-sixteen-chars' : '/p' + (i % 10)
  })
  const bytes = encodeParquet(def.schema, rows)
  const m = fileMetrics(bytes, def.schema)

  it('counts records, file size and row-group split offsets', () => {
    expect(m.recordCount).toBe(200n)
    expect(m.fileSizeInBytes).toBe(BigInt(bytes.length))
    expect(m.splitOffsets).toEqual([4n])
  })

  it('keys value/null counts and column sizes by field id', () => {
    expect(m.valueCounts.get(1)).toBe(200n)
    expect(m.nullValueCounts.get(1)).toBe(0n)
    const nullNames = rows.filter((r) => r.event_name === null).length
    expect(m.nullValueCounts.get(8)).toBe(BigInt(nullNames))
    for (const f of def.schema.fields)
      if (typeof f.type === 'string') expect(m.columnSizes.get(f.id)! > 0n).toBe(true)
  })

  it('gives map key/value columns a column size only: no counts and no bounds, as Iceberg Java 1.12', () => {
    // Java's ParquetMetrics visits no field metrics under a map; its column sizes cover every leaf.
    for (const id of [38, 39]) {
      expect(m.columnSizes.get(id)! > 0n, `column size of ${id}`).toBe(true)
      expect(m.valueCounts.has(id), `value count of ${id}`).toBe(false)
      expect(m.nullValueCounts.has(id), `null count of ${id}`).toBe(false)
      expect(m.lowerBounds.has(id) || m.upperBounds.has(id)).toBe(false)
    }
    expect(m.valueCounts.has(37) || m.columnSizes.has(37) || m.lowerBounds.has(37)).toBe(false)
  })

  it("takes a map key/value column's metrics mode from its full name, as Java does", () => {
    const none = fileMetrics(bytes, def.schema, { 'write.metadata.metrics.column.event_data.key': 'none' })
    expect(none.columnSizes.has(38)).toBe(false)
    expect(none.columnSizes.has(39)).toBe(true)
  })

  it('encodes bounds per the spec: timestamps in µs, ints, truncated strings', () => {
    const times = rows.map((r) => r.event_time)
    expect(hex(m.lowerBounds.get(5))).toBe(hex(encodeBound('timestamptz', Math.min(...times))))
    expect(hex(m.upperBounds.get(5))).toBe(hex(encodeBound('timestamptz', Math.max(...times))))
    expect(hex(m.lowerBounds.get(7))).toBe(
      hex(encodeBound('int', Math.min(...rows.map((r) => r.event_type)))),
    )
    // url_path max is '/p9' (> '/a-very-long...'); min is the long one truncated to 16 code points
    expect(Buffer.from(m.lowerBounds.get(9)!).toString()).toBe('/a-very-long-pat')
    expect(Buffer.from(m.upperBounds.get(9)!).toString()).toBe('/p9')
  })

  it('honours metrics modes from table properties', () => {
    const counts = fileMetrics(bytes, def.schema, {
      'write.metadata.metrics.default': 'counts',
      'write.metadata.metrics.column.event_time': 'full',
      'write.metadata.metrics.column.url_path': 'none',
    })
    expect(counts.lowerBounds.has(1)).toBe(false)
    expect(counts.valueCounts.get(1)).toBe(200n)
    expect(counts.lowerBounds.has(5)).toBe(true)
    expect(counts.valueCounts.has(9)).toBe(false)
  })

  it('a string longer than the Parquet statistics keep: truncate mode stays a true bound, full leaves it out', () => {
    const long = eventRows(3, { seed: 3 })
    long.forEach((r, i) => (r.url_path = '/' + 'é'.repeat(70) + i)) // 141+ bytes: cut to 64 in the footer
    const file = encodeParquet(def.schema, long)
    const truncated = fileMetrics(file, def.schema)
    const upper = Buffer.from(truncated.upperBounds.get(9)!).toString()
    expect(upper > long[2].url_path!).toBe(true) // 16 chars, last one incremented: above every value
    expect(Buffer.from(truncated.lowerBounds.get(9)!).toString() <= long[0].url_path!).toBe(true)
    const full = fileMetrics(file, def.schema, { 'write.metadata.metrics.column.url_path': 'full' })
    expect(full.upperBounds.has(9)).toBe(false)
    expect(full.lowerBounds.has(9)).toBe(false)
    expect(full.valueCounts.get(9)).toBe(3n)
  })
})
