/**
 * The test reader's workaround for icebird's Avro inflater (icebird-avro.ts). The file here is a
 * valid Avro container whose one deflate block inflates to more than 128 KiB with a literal exactly
 * at byte 131072 — the shape of the merged manifests icebird failed on in the long run
 * (`RangeError: Invalid typed array length: -7` at 1,000 commits).
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { deflateRawSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { gunzip } from 'hyparquet-compressors'
import { avroMetadata, avroRead } from 'icebird'
import { fetchAvroRecords } from 'icebird/src/fetch.js'
import { writeAvroFile } from '../../src/write/avro.ts'
import { installIcebirdFetch } from './iceberg-check.ts'
import { inflateAvroBlocks } from './icebird-avro.ts'
import { installFetchShim } from '../e2e/readback.ts'

const SCHEMA = {
  type: 'record',
  name: 'r',
  fields: [
    { name: 's', type: 'string' },
    { name: 'n', type: 'long' },
  ],
}
// The string's length prefix takes 3 bytes, so the 'Z' (a literal: it never occurred before) is
// byte 131072 of the inflated block, where icebird's inflater must grow its buffer.
const S = 'a'.repeat(131_069) + 'Z' + 'a'.repeat(1000)
const RECORDS = [
  { s: S, n: 42n },
  { s: 'second record', n: -7n },
]

const dir = mkdtempSync(path.join(tmpdir(), 'floe-icebird-avro-'))
const file = path.join(dir, 'big-block.avro')
const bytes = writeAvroFile(SCHEMA, RECORDS, { note: 'kept' })
writeFileSync(file, bytes)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function icebirdDecode(b: Uint8Array): Record<string, unknown>[] {
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
  const reader = { view: new DataView(ab), offset: 0 }
  const { metadata, syncMarker } = avroMetadata(reader)
  return avroRead({ reader, metadata, syncMarker })
}

describe("icebird's Avro deflate blocks", () => {
  it('the file is valid Avro: python3-avro reads both records', () => {
    const out = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        `import json, sys
from avro.datafile import DataFileReader
from avro.io import DatumReader
with DataFileReader(open(sys.argv[1], 'rb'), DatumReader()) as r:
    print(json.dumps([[x['s'].find('Z'), len(x['s']), x['n']] for x in r]))`,
        file,
      ],
      { encoding: 'utf8' },
    )
    expect(JSON.parse(out)).toEqual([
      [131_069, S.length, 42],
      [-1, 'second record'.length, -7],
    ])
  })

  it('upstream bug still there: hyparquet-compressors gunzip zeroes a literal on its buffer boundary (when this fails, drop the workaround)', () => {
    const raw = Buffer.concat([Buffer.alloc(131_072, 'a'), Buffer.from('Z'), Buffer.alloc(1000, 'a')])
    const out = gunzip(deflateRawSync(raw))
    expect(out.length).toBe(raw.length)
    expect(out[131_072]).toBe(0) // 'Z' (90) in the input
    // and icebird reading Floe's valid file straight gets a different string back
    const direct = icebirdDecode(bytes)
    expect(direct[0].s).not.toBe(S)
  })

  it('inflateAvroBlocks: same records, codec null, header keys kept; icebird then decodes it exactly', () => {
    const inflated = inflateAvroBlocks(bytes)
    const ab = inflated.buffer.slice(
      inflated.byteOffset,
      inflated.byteOffset + inflated.byteLength,
    ) as ArrayBuffer
    const { metadata } = avroMetadata({ view: new DataView(ab), offset: 0 })
    expect(metadata['avro.codec']).toBe('null')
    expect(metadata.note).toBe('kept')
    expect(metadata['avro.schema']).toEqual(SCHEMA)
    expect(icebirdDecode(inflated)).toEqual(RECORDS)
    // not a deflate container: untouched
    const nullCodec = writeAvroFile(SCHEMA, RECORDS, {}, 'null')
    expect(inflateAvroBlocks(nullCodec)).toBe(nullCodec)
    // a broken file still fails (a block's sync marker changed)
    const broken = Uint8Array.from(bytes)
    broken[broken.length - 1] ^= 0xff
    expect(() => inflateAvroBlocks(broken)).toThrow(/sync marker/)
  })

  it('both fetch shims serve icebird the records exactly', async () => {
    const url = `file://${file}`
    const restore = installIcebirdFetch()
    try {
      expect(await fetchAvroRecords(url)).toEqual(RECORDS)
    } finally {
      restore()
    }
    const original = globalThis.fetch
    try {
      installFetchShim()
      expect(await fetchAvroRecords(url)).toEqual(RECORDS)
    } finally {
      globalThis.fetch = original
    }
  })
})
