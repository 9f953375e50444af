/**
 * DataFile entries through JSON (src/write/data-file-json.ts), as a commit request carries them
 * from a writer to the coordinator: every bigint, Map and byte array comes back with its type, and
 * the manifest written from the decoded entries is byte for byte the one written from the original
 * (but for the Avro sync marker, random per file).
 */
import { describe, expect, it } from 'vitest'
import { encodeAppend } from '../../src/write/encode-append.ts'
import { writeManifest } from '../../src/write/manifest.ts'
import { bindSpec } from '../../src/write/partition.ts'
import { dataFilesFromJson, dataFilesToJson } from '../../src/write/data-file-json.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'
import { sampleEvents } from '../support/rows.ts'

describe('DataFile entries as JSON', () => {
  it('come back equal and write the same manifest', () => {
    const def = loadTableDefinitions().pa_events
    const spec = def['partition-spec']
    const input = {
      schema: def.schema,
      tableSchema: def.schema,
      spec,
      properties: {},
      location: 's3://b/t',
      metadataDir: 's3://b/t/metadata',
      commitId: '00000000-0000-4000-8000-000000000000',
      snapshotId: 42n,
      rows: sampleEvents(120),
    }
    const files = encodeAppend(input).dataFiles.map((d) => d.file)
    expect(files.length).toBeGreaterThan(0)
    const back = dataFilesFromJson(dataFilesToJson(files))
    expect(back).toEqual(files)
    expect(typeof back[0].recordCount).toBe('bigint')
    expect(back[0].lowerBounds).toBeInstanceOf(Map)
    expect([...back[0].lowerBounds.values()][0]).toBeInstanceOf(Uint8Array)
    const manifest = (f: typeof files) =>
      writeManifest({
        schema: def.schema,
        spec,
        fields: bindSpec(spec, def.schema),
        snapshotId: 7n,
        files: f,
      })
    // Equal but for the Avro sync marker, random per file (16 bytes after the header, and after each block).
    const [x, y] = [Buffer.from(manifest(back)), Buffer.from(manifest(files))]
    const syncOf = (b: Buffer) => b.subarray(b.length - 16)
    expect(x.length).toBe(y.length)
    expect(x.toString('hex').replaceAll(syncOf(x).toString('hex'), '')).toBe(
      y.toString('hex').replaceAll(syncOf(y).toString('hex'), ''),
    )
  })
})
