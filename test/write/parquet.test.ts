import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { encodeParquet } from '../../src/write/parquet.ts'
import { loadTableDefinition } from '../../src/write/table-definition.ts'
import { duckdbQuery } from './support/duckdb.ts'
import { eventRows, sessionRows } from './support/event-rows.ts'

const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-parquet-'))
const events = loadTableDefinition('pa_events')
const sessions = loadTableDefinition('pa_sessions')

function writeTemp(name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name)
  writeFileSync(p, bytes)
  return p
}

describe('Parquet data files (read back by DuckDB)', () => {
  const rows = eventRows(500, { seed: 7 })
  rows[0].event_data = { 'a.b': 'x', 'a.0': 'ünï', empty: '' }
  rows[1].event_data = { k: null as unknown as string }
  rows[2].event_data = {}
  rows[3].event_time = 1764000000123457 // odd microseconds survive
  const file = writeTemp('events.parquet', encodeParquet(events.schema, rows))

  it('carries a field_id on every column, map key and value included', async () => {
    const schema = await duckdbQuery(`SELECT name, field_id FROM parquet_schema('${file}')`)
    const ids = new Map(schema.map((r) => [r.name, r.field_id === null ? null : Number(r.field_id)]))
    for (const f of events.schema.fields) expect(ids.get(f.name), f.name).toBe(f.id)
    expect(ids.get('key')).toBe(38)
    expect(ids.get('value')).toBe(39)
    // Only the root and the synthetic repeated key_value group have no id (as in Java's files).
    const without = schema.filter((r) => r.field_id === null).map((r) => r.name)
    expect(without).toHaveLength(2)
  })

  it("names the map's repeated group key_value, as Java does (three levels: MAP group, key_value, key/value)", async () => {
    const schema = await duckdbQuery(
      `SELECT name, repetition_type, num_children, field_id FROM parquet_schema('${file}')`,
    )
    const at = schema.findIndex((r) => r.name === 'event_data')
    expect(schema.slice(at, at + 4).map((r) => [r.name, r.repetition_type, r.num_children])).toEqual([
      ['event_data', 'OPTIONAL', 1n],
      ['key_value', 'REPEATED', 2n],
      ['key', 'REQUIRED', null],
      ['value', 'OPTIONAL', null],
    ])
    expect(schema.some((r) => r.name === 'entries')).toBe(false)
  })

  it("writes the table schema as Iceberg JSON under the footer's iceberg.schema key, as Java does", async () => {
    const kv = await duckdbQuery(
      `SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata('${file}')`,
    )
    const entry = kv.find((r) => r.key === 'iceberg.schema')
    expect(entry, 'iceberg.schema key').toBeDefined()
    const json = JSON.parse(String(entry!.value))
    expect(json).toEqual(JSON.parse(JSON.stringify(events.schema)))
    // Java's SchemaParser key order.
    expect(Object.keys(json)).toEqual(['type', 'schema-id', 'fields'])
    expect(Object.keys(json.fields[0])).toEqual(['id', 'name', 'required', 'type', 'doc'])
    const map = json.fields.find((f: { name: string }) => f.name === 'event_data').type
    expect(Object.keys(map)).toEqual(['type', 'key-id', 'key', 'value-id', 'value', 'value-required'])
  })

  it('writes timestamptz as INT64 TIMESTAMP(MICROS, isAdjustedToUTC) and strings as UTF8', async () => {
    const [t] = await duckdbQuery(
      `SELECT type, logical_type FROM parquet_schema('${file}') WHERE name = 'event_time'`,
    )
    expect(t.type).toBe('INT64')
    expect(t.logical_type).toMatch(
      /TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(.*MICROS=MicroSeconds\(\)/,
    )
    const [s] = await duckdbQuery(
      `SELECT type, logical_type FROM parquet_schema('${file}') WHERE name = 'url_path'`,
    )
    expect([s.type, s.logical_type]).toEqual(['BYTE_ARRAY', 'StringType()'])
    const [m] = await duckdbQuery(
      `SELECT logical_type FROM parquet_schema('${file}') WHERE name = 'event_data'`,
    )
    expect(m.logical_type).toBe('MapType()')
  })

  it('compresses every column chunk with ZSTD', async () => {
    const codecs = await duckdbQuery(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`)
    expect(codecs.map((c) => c.compression)).toEqual(['ZSTD'])
  })

  it('reads back every value, timestamps to the microsecond and the map column', async () => {
    const back = await duckdbQuery(
      `SELECT event_id, site_id, epoch_us(event_time) AS t, epoch_us(received_at) AS r, event_type, event_name,
              url_path, page_title, city, utm_source, map_keys(event_data) AS k, map_values(event_data) AS v,
              event_data IS NULL AS map_null
       FROM read_parquet('${file}')`,
    )
    expect(back).toHaveLength(rows.length)
    back.forEach((b, i) => {
      const row = rows[i]
      expect(b.event_id).toBe(row.event_id)
      expect(b.site_id).toBe(row.site_id)
      expect(b.t).toBe(BigInt(row.event_time))
      expect(b.r).toBe(BigInt(row.received_at))
      expect(b.event_type).toBe(row.event_type)
      expect([b.event_name, b.url_path, b.page_title, b.city, b.utm_source]).toEqual([
        row.event_name,
        row.url_path,
        row.page_title,
        row.city,
        row.utm_source,
      ])
      expect(b.map_null).toBe(row.event_data === null)
      if (row.event_data) {
        expect(b.k).toEqual(Object.keys(row.event_data))
        expect(b.v).toEqual(Object.values(row.event_data))
      }
    })
    expect(back[3].t).toBe(1764000000123457n)
    expect(back[0].v).toEqual(['x', 'ünï', ''])
    expect(back[1].v).toEqual([null])
    expect(back[2].k).toEqual([])
  })

  it('writes pa_sessions rows with their own ids and values', async () => {
    const srows = sessionRows(20)
    const f = writeTemp('sessions.parquet', encodeParquet(sessions.schema, srows))
    const ids = await duckdbQuery(
      `SELECT name, field_id FROM parquet_schema('${f}') WHERE field_id IS NOT NULL`,
    )
    expect(ids.map((r) => Number(r.field_id)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 16 }, (_, i) => i + 1),
    )
    const back = await duckdbQuery(
      `SELECT session_id, epoch_us(created_at) AS c, session_data['plan'] AS plan FROM read_parquet('${f}')`,
    )
    expect(back.map((b) => [b.session_id, b.c, b.plan])).toEqual(
      srows.map((r) => [r.session_id, BigInt(r.created_at), r.session_data?.plan ?? null]),
    )
  })

  it('keeps plain (high-cardinality) and dictionary columns exact, non-ASCII and surrogate pairs included', async () => {
    const many = eventRows(3000, { seed: 11 })
    many.forEach((r, i) => {
      r.page_title = `Seite ${i} — ü ${i % 7 === 0 ? '😀' : ''}` // unique per row: a plain Utf8 vector
      r.url_path = `/p/${i % 200}/ß` // 200 distinct: a dictionary with 16-bit indices
      r.city = i % 5 === 0 ? null : r.city // small dictionary with nulls
    })
    const f = writeTemp('mixed.parquet', encodeParquet(events.schema, many))
    const back = await duckdbQuery(`SELECT page_title, url_path, city FROM read_parquet('${f}')`)
    expect(back.map((b) => [b.page_title, b.url_path, b.city])).toEqual(
      many.map((r) => [r.page_title, r.url_path, r.city]),
    )
  })
})
