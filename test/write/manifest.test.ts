import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { encodeParquet } from '../../src/write/parquet.ts'
import { fileMetrics } from '../../src/write/metrics.ts'
import { writeManifest, type DataFile } from '../../src/write/manifest.ts'
import { bindSpec, groupByPartition } from '../../src/write/partition.ts'
import { readAvroFile } from '../../src/write/avro.ts'
import { loadTableDefinition } from '../../src/write/table-definition.ts'
import { eventRows } from './support/event-rows.ts'
import { fieldIds, readWithPythonAvro } from './support/python-avro.ts'

const def = loadTableDefinition('pa_events')
const fields = bindSpec(def['partition-spec'], def.schema)
const SNAPSHOT_ID = 9_007_199_254_740_993n * 1000n + 7n // far above 2^53

/** Field ids of Java's V2 manifest_entry schema (the Iceberg spec, Appendix A.2) by record.field. */
const JAVA_IDS: Record<string, number> = {
  'manifest_entry.status': 0,
  'manifest_entry.snapshot_id': 1,
  'manifest_entry.sequence_number': 3,
  'manifest_entry.file_sequence_number': 4,
  'manifest_entry.data_file': 2,
  'r2.content': 134,
  'r2.file_path': 100,
  'r2.file_format': 101,
  'r2.partition': 102,
  'r102.event_time_day': 1000,
  'r102.site_id': 1001,
  'r2.record_count': 103,
  'r2.file_size_in_bytes': 104,
  'r2.column_sizes': 108,
  'k117_v118.key': 117,
  'k117_v118.value': 118,
  'r2.value_counts': 109,
  'k119_v120.key': 119,
  'k119_v120.value': 120,
  'r2.null_value_counts': 110,
  'k121_v122.key': 121,
  'k121_v122.value': 122,
  'r2.nan_value_counts': 137,
  'k138_v139.key': 138,
  'k138_v139.value': 139,
  'r2.lower_bounds': 125,
  'k126_v127.key': 126,
  'k126_v127.value': 127,
  'r2.upper_bounds': 128,
  'k129_v130.key': 129,
  'k129_v130.value': 130,
  'r2.key_metadata': 131,
  'r2.split_offsets': 132,
  'r2.equality_ids': 135,
  'r2.sort_order_id': 140,
  'r2.referenced_data_file': 143,
}

function dataFiles(): DataFile[] {
  const rows = eventRows(300, { seed: 5, sites: 2, days: 2 })
  return groupByPartition(fields, rows).map((g, i) => ({
    ...fileMetrics(encodeParquet(def.schema, g.rows), def.schema),
    filePath: `s3://bucket/wh/analytics/pa_events/data/${g.path}/0000${i}-0-x-00001.parquet`,
    specId: 0,
    partition: g.tuple,
  }))
}

describe('manifest Avro file (decoded by python3-avro)', () => {
  const files = dataFiles()
  const bytes = writeManifest({
    schema: def.schema,
    spec: def['partition-spec'],
    fields,
    snapshotId: SNAPSHOT_ID,
    files,
  })
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'floe-manifest-')), 'm0.avro')
  writeFileSync(file, bytes)
  const py = readWithPythonAvro(file)

  it('has the header keys Java writes, with the table schema (not the entry schema) under `schema`', () => {
    expect(py.meta['avro.codec']).toBe('deflate')
    expect(JSON.parse(py.meta.schema)).toEqual(def.schema)
    expect(py.meta['schema-id']).toBe('0')
    expect(JSON.parse(py.meta['partition-spec'])).toEqual(def['partition-spec'].fields)
    expect(py.meta['partition-spec-id']).toBe('0')
    expect(py.meta['format-version']).toBe('2')
    expect(py.meta.content).toBe('data')
  })

  it("uses Java's record names and field ids in the embedded schema", () => {
    const ids = fieldIds(py.schema)
    expect(Object.fromEntries(ids)).toEqual(JAVA_IDS)
    expect(py.schema.name).toBe('manifest_entry')
  })

  it('types the day partition as an Avro int with logicalType date (as Java)', () => {
    const r102 = JSON.stringify(py.schema).match(/"name":"r102".*?\]\}/)![0]
    expect(r102).toContain('"name":"event_time_day","type":["null",{"type":"int","logicalType":"date"}]')
  })

  it('holds one ADDED entry per data file with exact values', () => {
    expect(py.records).toHaveLength(files.length)
    py.records.forEach((rec, i) => {
      const f = files[i]
      expect(rec.status).toBe(1)
      expect(rec.snapshot_id).toBe(SNAPSHOT_ID)
      expect(rec.sequence_number).toBeNull()
      expect(rec.file_sequence_number).toBeNull()
      const df = rec.data_file as Record<string, unknown>
      expect(df.content).toBe(0)
      expect(df.file_path).toBe(f.filePath)
      expect(df.file_format).toBe('PARQUET')
      const day = new Date((f.partition[0] as number) * 86_400_000).toISOString().slice(0, 10)
      expect(df.partition).toEqual({ event_time_day: { $date: day }, site_id: f.partition[1] })
      expect(BigInt(df.record_count as number)).toBe(f.recordCount)
      expect(BigInt(df.file_size_in_bytes as number)).toBe(f.fileSizeInBytes)
      const asMap = (v: unknown) =>
        new Map((v as { key: number; value: unknown }[]).map((e) => [e.key, e.value]))
      expect(asMap(df.value_counts).get(1)).toBe(Number(f.recordCount))
      expect(asMap(df.lower_bounds).get(5)).toEqual({
        $hex: Buffer.from(f.lowerBounds.get(5)!).toString('hex'),
      })
      expect(asMap(df.upper_bounds).get(1)).toEqual({
        $hex: Buffer.from(f.upperBounds.get(1)!).toString('hex'),
      })
      expect(df.split_offsets).toEqual([4])
      expect(df.sort_order_id).toBe(0)
    })
  })

  it('reads back with our own reader (bigint longs)', () => {
    const own = readAvroFile<{ snapshot_id: bigint }>(bytes)
    expect(own.records.map((r) => r.snapshot_id)).toEqual(files.map(() => SNAPSHOT_ID))
    expect(own.metadata['format-version']).toBe('2')
  })
})
