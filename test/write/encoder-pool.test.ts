/**
 * Appends encoded in a worker thread (FLOE_ENCODE_WORKERS): the same Parquet bytes, metrics and
 * manifest entries as on the calling thread, and a table written through the pool reads back
 * exactly in DuckDB and icebird (real local folder, in-memory catalog).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createEncoderPool } from '../../src/write/encoder-pool.ts'
import { encodeAppend, type EncodeInput } from '../../src/write/encode-append.ts'
import { readAvroFile } from '../../src/write/avro.ts'
import { createTableWriter } from '../../src/write/append.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'
import { LocalFileIO, fileUri } from '../../src/storage/local.ts'
import { InMemoryTestCatalog } from './support/in-memory-test-catalog.ts'
import { eventRows } from './support/event-rows.ts'
import { currentDataFiles, expectDuckDbRows, expectIcebirdRows } from '../support/append-e2e.ts'

const defs = loadTableDefinitions()
const pool = createEncoderPool({ threads: 1 })
const dir = mkdtempSync(path.join(tmpdir(), 'floe-encoder-pool-'))

afterAll(async () => {
  await pool.close()
  rmSync(dir, { recursive: true, force: true })
})

function input(rows: EncodeInput['rows']): EncodeInput {
  const def = defs.pa_events
  return {
    schema: def.schema,
    tableSchema: def.schema,
    spec: def['partition-spec'],
    properties: def.properties,
    location: 'file:///warehouse/analytics/pa_events',
    metadataDir: 'file:///warehouse/analytics/pa_events/metadata',
    commitId: '8a4f3a56-2f0e-4c8e-9d1a-0c6f4f7b9e21',
    snapshotId: 1234567890123456789n,
    rows,
  }
}

describe('the encoder pool', () => {
  it('encodes in a worker exactly what the calling thread encodes', async () => {
    const rows = eventRows(600, { seed: 7, days: 2 })
    const here = encodeAppend(input(rows))
    const there = await pool.encode(input(rows))
    expect(there.dataFiles.length).toBeGreaterThan(1) // several partitions
    expect(there.dataFiles.map((d) => d.uri)).toEqual(here.dataFiles.map((d) => d.uri))
    expect(there.dataFiles.map((d) => d.file)).toEqual(here.dataFiles.map((d) => d.file))
    for (let i = 0; i < here.dataFiles.length; i++)
      expect(Buffer.from(there.dataFiles[i].bytes).equals(Buffer.from(here.dataFiles[i].bytes))).toBe(true)
    expect(there.manifestPath).toBe(here.manifestPath)
    // Avro containers differ in their random sync marker only: compare the entries.
    expect(readAvroFile(there.manifest).records).toEqual(readAvroFile(here.manifest).records)
  })

  it('runs concurrent appends and keeps each one whole', async () => {
    const batches = [
      eventRows(300, { seed: 1, days: 2 }),
      eventRows(400, { seed: 2, days: 2 }),
      eventRows(500, { seed: 3, days: 2 }),
    ]
    const out = await Promise.all(batches.map((b) => pool.encode(input(b))))
    out.forEach((o, i) =>
      expect(o.dataFiles.reduce((n, d) => n + Number(d.file.recordCount), 0)).toBe(batches[i].length),
    )
  })

  it('writes a table that DuckDB and icebird read back exactly', async () => {
    const io = new LocalFileIO()
    const catalog = new InMemoryTestCatalog(io)
    const writer = createTableWriter({
      catalog,
      io,
      namespace: ['analytics'],
      warehouse: fileUri(path.join(dir, 'warehouse')),
      encoder: pool,
    })
    await writer.ensureTables()
    const rows = [...eventRows(250, { seed: 11, days: 2 }), ...eventRows(250, { seed: 12, days: 2 })]
    await writer.append('pa_events', rows.slice(0, 250))
    await writer.append('pa_events', rows.slice(250))
    const loaded = await writer.load('pa_events')
    await expectDuckDbRows('pa_events', currentDataFiles(loaded), rows)
    await expectIcebirdRows('pa_events', loaded, rows)
  })
})
