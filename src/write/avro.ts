/**
 * Avro object container files for manifests and manifest lists (spec: Avro 1.11 §Object Container
 * Files), with avsc 5.7 doing every value encoding.
 *
 * Why we frame the container ourselves (~60 lines) instead of avsc's BlockEncoder/BlockDecoder:
 * - Iceberg needs the *raw* JSON schema in the `avro.schema` header (field-id, element-id,
 *   logicalType map; see docs/decisions.md). BlockEncoder keeps it only when given the raw schema, and
 *   then builds its own Type with the default `long`, which rejects BigInt and values above 2^53 —
 *   but snapshot ids are 63-bit. Given a Type instead, it re-exports the schema without attributes.
 * - Its decoder likewise parses the header schema with the default long.
 * - It is stream-based (async); manifests are small and built in memory, so sync is simpler.
 * Framing: magic `Obj\x01`, metadata map<string,bytes>, 16-byte sync marker, then blocks of
 * (count, byte size, deflate-raw data, sync marker).
 */
import { randomBytes } from 'node:crypto'
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib'
import avsc from 'avsc'
import { decompress as zstdDecompress } from 'fzstd'
import { snappyUncompress } from 'hyparquet'

/** Avro `long` as JS bigint (zig-zag varint of the full 64-bit value). */
const BigIntLong = avsc.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(0),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8)
    buf.writeBigInt64LE(n, 0)
    return buf
  },
  fromJSON: (v: unknown) => BigInt(v as string | number | bigint),
  toJSON: (n: bigint) => n.toString(),
  isValid: (n: unknown) => typeof n === 'bigint' && n >= -(2n ** 63n) && n < 2n ** 63n,
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
})

/**
 * Compiled types by schema text. avsc compiles a reader and a writer (generated code) for each
 * type, which cost more than encoding a flush's manifest; a table's manifests and manifest lists
 * use a handful of schemas, which change only with the table's schema or spec. Types are
 * immutable once built, so sharing them is safe; the bound keeps a process that reads many
 * tables' files from growing.
 */
const TYPES_MAX = 64
const types = new Map<string, avsc.Type>()

/** An avsc Type for a raw Iceberg Avro schema, with longs as bigint (`text`: its JSON, if known). */
export function avroType(schema: object, text = JSON.stringify(schema)): avsc.Type {
  let type = types.get(text)
  if (type === undefined) {
    type = avsc.Type.forSchema(schema as avsc.Schema, { registry: { long: BigIntLong } })
    if (types.size >= TYPES_MAX) types.delete(types.keys().next().value!)
    types.set(text, type)
  }
  return type
}

const HEADER = avsc.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
})
const MAGIC = Buffer.from('Obj\x01', 'latin1')
const LONG = avsc.Type.forSchema('long')
const RECORDS_PER_BLOCK = 4096

export type AvroCodec = 'null' | 'deflate'

/** Write records as an Avro object container file; `metadata` adds header keys (string values). */
export function writeAvroFile(
  schema: object,
  records: readonly unknown[],
  metadata: Record<string, string>,
  codec: AvroCodec = 'deflate',
): Uint8Array {
  const schemaText = JSON.stringify(schema)
  const type = avroType(schema, schemaText)
  const sync = randomBytes(16)
  const meta: Record<string, Buffer> = {}
  for (const [k, v] of Object.entries(metadata)) meta[k] = Buffer.from(v, 'utf8')
  meta['avro.schema'] = Buffer.from(schemaText, 'utf8')
  meta['avro.codec'] = Buffer.from(codec, 'utf8')
  const parts: Buffer[] = [HEADER.toBuffer({ magic: MAGIC, meta, sync })]
  for (let start = 0; start < records.length; start += RECORDS_PER_BLOCK) {
    const chunk = records.slice(start, start + RECORDS_PER_BLOCK)
    const raw = Buffer.concat(chunk.map((r) => type.toBuffer(r)))
    const data = codec === 'deflate' ? deflateRawSync(raw) : raw
    parts.push(LONG.toBuffer(chunk.length), LONG.toBuffer(data.length), data, sync)
  }
  const out = Buffer.concat(parts)
  return new Uint8Array(out.buffer, out.byteOffset, out.length)
}

export interface AvroFile<T> {
  /** Header metadata other than `avro.*`, decoded as UTF-8. */
  metadata: Record<string, string>
  /** The writer's raw schema from `avro.schema`. */
  schema: unknown
  codec: string
  records: T[]
}

/** Snappy block as Avro frames it: the compressed data, then the CRC32 (big-endian) of the result. */
function unsnappy(block: Buffer): Buffer {
  const data = block.subarray(0, block.length - 4)
  let length = 0
  for (let i = 0, shift = 0; i < 5; i++, shift += 7) {
    length += (data[i] & 0x7f) * 2 ** shift // snappy starts with the uncompressed length as a varint
    if (data[i] < 0x80) break
  }
  const out = Buffer.alloc(length)
  snappyUncompress(data, out)
  if (crc32(out) !== block.readUInt32BE(block.length - 4)) throw new Error('Avro snappy block: CRC mismatch')
  return out
}

/**
 * Block decoders by `avro.codec`. Floe writes deflate (Java's default), but another engine writing
 * to the same table may be set to snappy or zstandard (`write.avro.compression-codec`), and Floe
 * must read its manifests to append. Only bzip2 is missing (no maintained decoder on npm).
 */
const DECODERS: Record<string, (block: Buffer) => Buffer> = {
  null: (b) => b,
  deflate: (b) => inflateRawSync(b),
  snappy: unsnappy,
  zstandard: (b) => Buffer.from(zstdDecompress(b)),
}

/** Read an Avro object container file, longs as bigint. */
/**
 * Reads an Avro object container file. `project` gives a reader schema from the file's (writer)
 * schema, e.g. the writer's with fields left out: avsc then resolves each record against it and
 * skips the left-out fields without building them (a planner needs 5 of a manifest entry's ~20
 * fields, and the column metrics maps are most of its bytes).
 */
export function readAvroFile<T = Record<string, unknown>>(
  bytes: Uint8Array,
  options: { project?: (writerSchema: object) => object } = {},
): AvroFile<T> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (!buf.subarray(0, 4).equals(MAGIC)) throw new Error('not an Avro object container file')
  const { value: header, offset } = HEADER.decode(buf, 0) as {
    value: { meta: Record<string, Buffer>; sync: Buffer }
    offset: number
  }
  const schemaText = header.meta['avro.schema'].toString('utf8')
  const schema: unknown = JSON.parse(schemaText)
  const codec = header.meta['avro.codec']?.toString('utf8') ?? 'null'
  const decode = DECODERS[codec]
  if (!decode) throw new Error(`unsupported Avro codec ${codec}`)
  const metadata: Record<string, string> = {}
  for (const [k, v] of Object.entries(header.meta))
    if (!k.startsWith('avro.')) metadata[k] = v.toString('utf8')
  const writer = avroType(schema as object, schemaText)
  const type = options.project ? avroType(options.project(schema as object)) : writer
  const resolver = options.project ? type.createResolver(writer) : undefined
  const records: T[] = []
  let pos = offset
  while (pos < buf.length) {
    const count = LONG.decode(buf, pos) as { value: number; offset: number }
    const size = LONG.decode(buf, count.offset) as { value: number; offset: number }
    const end = size.offset + size.value
    const block = buf.subarray(size.offset, end)
    const data = decode(block)
    let p = 0
    for (let i = 0; i < count.value; i++) {
      const r = (resolver ? type.decode(data, p, resolver) : type.decode(data, p)) as {
        value: T
        offset: number
      }
      records.push(r.value)
      p = r.offset
    }
    if (!buf.subarray(end, end + 16).equals(header.sync)) throw new Error('Avro sync marker mismatch')
    pos = end + 16
  }
  return { metadata, schema, codec, records }
}
