/**
 * Reading Avro containers written by another engine with another codec (Java's
 * `write.avro.compression-codec`): files written by Debian's python3-avro (an independent writer)
 * with snappy and zstandard decode to the same records as Floe's own deflate files.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { avroType, readAvroFile, writeAvroFile } from '../../src/write/avro.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'floe-avro-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const SCHEMA = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    { name: 'manifest_path', type: 'string', 'field-id': 500 },
    { name: 'added_snapshot_id', type: 'long', 'field-id': 503 },
  ],
}
const records = Array.from({ length: 300 }, (_, i) => ({
  manifest_path: `s3://bucket/t/metadata/m-${i}.avro`,
  added_snapshot_id: 9_000_000_000_000_000_000n + BigInt(i), // above 2^53: must stay exact
}))

function pythonWrites(codec: string): Uint8Array {
  const file = path.join(dir, `${codec}.avro`)
  const py = `
import avro.schema, avro.datafile, avro.io, json, sys
schema = avro.schema.parse(sys.argv[1])
w = avro.datafile.DataFileWriter(open(sys.argv[2], 'wb'), avro.io.DatumWriter(), schema, codec=sys.argv[3])
for i in range(300):
    w.append({'manifest_path': 's3://bucket/t/metadata/m-%d.avro' % i, 'added_snapshot_id': 9000000000000000000 + i})
w.close()
`
  execFileSync('/usr/bin/python3', ['-c', py, JSON.stringify(SCHEMA), file, codec])
  return readFileSync(file)
}

describe('Avro containers from other writers', () => {
  for (const codec of ['snappy', 'zstandard', 'null', 'deflate'])
    it(`reads ${codec} blocks`, () => {
      const file = readAvroFile(pythonWrites(codec))
      expect(file.records).toEqual(records)
    })

  it("and Floe's own deflate files read back the same", () => {
    expect(readAvroFile(writeAvroFile(SCHEMA, records, {})).records).toEqual(records)
  })
})

describe('reading with a projection (the reporting planner reads 5 fields of a manifest entry)', () => {
  it('decodes only the reader schema’s fields, skipping the others, from another writer’s file', () => {
    const project = (writer: object) => {
      const w = writer as { fields: { name: string }[] }
      return { ...w, fields: w.fields.filter((f) => f.name === 'added_snapshot_id') }
    }
    for (const codec of ['snappy', 'deflate']) {
      const file = readAvroFile(pythonWrites(codec), { project })
      expect(file.records).toEqual(records.map((r) => ({ added_snapshot_id: r.added_snapshot_id })))
    }
  })
})

describe('compiled types are shared by schema text', () => {
  it('builds one type per schema, and files written with a shared type read back whole', () => {
    const schema = (name: string) => ({
      type: 'record',
      name,
      fields: [
        { name: 'id', type: 'long', 'field-id': 1 },
        { name: 's', type: ['null', 'string'], 'field-id': 2 },
      ],
    })
    expect(avroType(schema('r'))).toBe(avroType(schema('r'))) // equal schemas, separate objects
    expect(avroType(schema('other'))).not.toBe(avroType(schema('r')))
    const records = [
      { id: 2n ** 62n, s: 'a' },
      { id: -1n, s: null },
    ]
    for (let i = 0; i < 3; i++) {
      const file = writeAvroFile(schema('r'), records, { n: String(i) })
      const read = readAvroFile<{ id: bigint; s: string | null }>(file)
      expect(read.records).toEqual(records)
      expect(read.metadata.n).toBe(String(i))
    }
  })
})
