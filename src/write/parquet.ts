/**
 * Rows → Parquet bytes for Iceberg data files.
 *
 * Why parquet-wasm (arrow-rs's Parquet writer compiled to WASM) fed by Arrow vectors we build by
 * hand: Iceberg needs a `field_id` on every Parquet column, map key and value included, and
 * timestamptz as INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true) (the Iceberg spec). parquetjs(-lite)
 * cannot write field ids; hyparquet-writer can, but has no built-in ZSTD. arrow-rs maps the Arrow
 * field metadata `PARQUET:field_id` to `SchemaElement.field_id` and has ZSTD built in
 * (measured here). Arrow's row-by-row builders are the slow part of that path (4x), so each column
 * is built directly from typed arrays (values, offsets, validity bitmaps) with `makeData`.
 * Timestamps are microseconds in the rows already; they are split into int64 words (no BigInt).
 *
 * Where the time went (bench/parquet-encode.ts, 200k rows): a native UTF-8 call per string value,
 * megamorphic `row[name]` loads, and full GCs of the caller's row heap set off by our big
 * allocations. So: strings are encoded 1024 values per call, low-cardinality string columns become
 * Arrow dictionaries (each distinct value encoded once, 1-2 byte indices; arrow-rs still writes a
 * plain BYTE_ARRAY column), scratch buffers are shared by all columns, and column reads go through
 * `column-reader.ts`. The rest is arrow-rs in WASM (about half of the CPU time).
 *
 * The Arrow table crosses into WASM as an IPC stream (`tableToIPC` → `Table.fromIPCStream`).
 */
import {
  Bool,
  Field,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  Map_,
  RecordBatch,
  Schema,
  Struct,
  Table as ArrowTable,
  TimestampMicrosecond,
  Utf8,
  Binary,
  DateDay,
  Dictionary,
  makeData,
  makeVector,
  tableToIPC,
  type Data,
  type DataType,
} from 'apache-arrow'
import {
  Compression,
  Encoding,
  Table as WasmTable,
  WriterPropertiesBuilder,
  WriterVersion,
  transformParquetStream,
  writeParquet,
} from 'parquet-wasm'
import type { Row } from '../rows.ts'
import { columnReader } from './column-reader.ts'
import type { IcebergField, IcebergMapType, IcebergSchema, IcebergType } from '../table/metadata.ts'

const FIELD_ID = 'PARQUET:field_id'

function idMeta(id: number): Map<string, string> {
  return new Map([[FIELD_ID, String(id)]])
}

function arrowType(type: IcebergType): DataType {
  if (typeof type === 'object') {
    const entries = new Struct([
      new Field('key', arrowType(type.key), false, idMeta(type['key-id'])),
      new Field('value', arrowType(type.value), !type['value-required'], idMeta(type['value-id'])),
    ])
    // Java names the repeated group of a MAP `key_value` (the Parquet spec's name); arrow-rs takes
    // the group's name from this field. Arrow JS's Map_ constructor renames it to `entries`
    // (ARROW-8716), so the name is set back after construction; the IPC stream carries it to WASM.
    const map = new Map_(new Field('key_value', entries, false), false)
    ;(map.children[0] as { name: string }).name = 'key_value'
    return map
  }
  switch (type) {
    case 'string':
    case 'uuid': // Floe stores uuids as text; a real `uuid` column would need FIXED_LEN_BYTE_ARRAY(16)
      return new Utf8()
    case 'int':
      return new Int32()
    case 'date':
      return new DateDay()
    case 'long':
      return new Int64()
    case 'timestamp':
      return new TimestampMicrosecond()
    case 'timestamptz':
      return new TimestampMicrosecond('UTC')
    case 'float':
      return new Float32()
    case 'double':
      return new Float64()
    case 'boolean':
      return new Bool()
    case 'binary':
      return new Binary()
  }
}

/** Arrow schema of an Iceberg schema, with `PARQUET:field_id` on every field (map key/value too). */
export function arrowSchema(schema: IcebergSchema): Schema {
  return new Schema(schema.fields.map((f) => new Field(f.name, arrowType(f.type), !f.required, idMeta(f.id))))
}

/** Column values, validity bitmap (LSB first) and null count of one column of `rows`. */
interface Extracted {
  values: unknown[]
  bitmap: Uint8Array
  nullCount: number
}

/**
 * Column `name` of `rows` into `scratch` (reused for every column, so a 200k-row encode allocates
 * one pointer array instead of one per column), absent values as null, with its validity.
 */
function extract(rows: readonly Row[], name: string, scratch: unknown[]): Extracted {
  const n = rows.length
  columnReader(name)(rows, scratch)
  const bitmap = new Uint8Array((n + 7) >> 3)
  let nullCount = 0
  for (let i = 0; i < n; i++) {
    const v = scratch[i]
    if (v === null || v === undefined) {
      scratch[i] = null
      nullCount++
    } else bitmap[i >> 3] |= 1 << (i & 7)
  }
  return { values: scratch, bitmap, nullCount }
}

/** Validity of `values[0..n)` (for map keys/values, which are not row columns). */
function validity(values: readonly unknown[], n: number): { bitmap: Uint8Array; nullCount: number } {
  const bitmap = new Uint8Array((n + 7) >> 3)
  let nullCount = 0
  for (let i = 0; i < n; i++) {
    if (values[i] === null || values[i] === undefined) nullCount++
    else bitmap[i >> 3] |= 1 << (i & 7)
  }
  return { bitmap, nullCount }
}

/** UTF-8 length of `s` (only used for columns that are not pure ASCII). */
function utf8Length(s: string): number {
  let len = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) len += 1
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        len += 2 // 4 bytes for the pair's 2 code units
        i++
      } else len += 2 // lone surrogate → U+FFFD (3 bytes)
    } else len += 2
  }
  return len
}

const encoder = new TextEncoder()
/** Values joined and encoded per native call: few calls, and the joined strings stay small. */
const UTF8_CHUNK = 1024

/**
 * UTF-8 bytes and offsets of `values[0..n)` (null → empty), in one buffer. Values are joined
 * 1024 at a time and each chunk is UTF-8 encoded with one `encodeInto` call: a native call per
 * value was the largest cost of the encode, and joining the whole column at once leaves
 * megabyte strings in the old generation (more full GCs of the caller's row heap). An all-ASCII
 * chunk (bytes = UTF-16 units) gets its offsets from string lengths, others count UTF-8 in JS.
 */
function utf8Column(values: readonly unknown[], n: number): { data: Uint8Array; offsets: Int32Array } {
  const offsets = new Int32Array(n + 1)
  let chars = 0
  for (let i = 0; i < n; i++) {
    const s = values[i] as string | null
    if (s != null) chars += s.length
  }
  let out = new Uint8Array(chars + (chars >> 3) + 64)
  let pos = 0
  for (let start = 0; start < n; start += UTF8_CHUNK) {
    const end = Math.min(n, start + UTF8_CHUNK)
    const part = values.slice(start, end).join('')
    let r = encoder.encodeInto(part, out.subarray(pos))
    if (r.read < part.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, pos + part.length * 3 + (chars >> 2)))
      grown.set(out.subarray(0, pos))
      out = grown
      r = encoder.encodeInto(part, out.subarray(pos))
    }
    const ascii = r.written === part.length
    for (let i = start; i < end; i++) {
      const s = values[i] as string | null
      offsets[i + 1] = s == null ? offsets[i] : offsets[i] + (ascii ? s.length : utf8Length(s))
    }
    pos += r.written
  }
  return { data: out.subarray(0, pos), offsets }
}

function utf8Data(type: DataType, values: readonly unknown[], n: number, valid = validity(values, n)): Data {
  const { data, offsets } = utf8Column(values, n)
  return makeData({
    type: type as Utf8,
    length: n,
    nullCount: valid.nullCount,
    nullBitmap: valid.bitmap,
    valueOffsets: offsets,
    data,
  })
}

/** Distinct values in the first 1024 rows at or below which a string column is dictionary-encoded. */
const DICTIONARY_SAMPLE = 1024
const DICTIONARY_MAX_SHARE = 0.25

/**
 * A string column as an Arrow dictionary (Int32 indices into the distinct values) when a sample
 * shows few distinct values (site ids, paths, browsers, countries...), else plain Utf8. Each
 * distinct string is UTF-8 encoded once, and the IPC copy into WASM shrinks from all bytes to
 * 4 bytes a row; arrow-rs writes the same Parquet BYTE_ARRAY column (with its own dictionary page).
 */
function stringData(field: Field, col: Extracted, n: number, scratchKeys: Int32Array): Data {
  const { values, bitmap, nullCount } = col
  const sample = new Set<unknown>()
  const sampleEnd = Math.min(n, DICTIONARY_SAMPLE)
  for (let i = 0; i < sampleEnd; i++) if (values[i] !== null) sample.add(values[i])
  if (n < 64 || sample.size > sampleEnd * DICTIONARY_MAX_SHARE) {
    return utf8Data(field.type, values, n, { bitmap, nullCount })
  }
  const index = new Map<string, number>()
  const distinct: string[] = []
  const keys = scratchKeys // shared by all columns of one encode; copied into the narrowest type
  for (let i = 0; i < n; i++) {
    const v = values[i] as string | null
    if (v === null) {
      keys[i] = 0
      continue
    }
    let k = index.get(v)
    if (k === undefined) {
      k = distinct.length
      index.set(v, k)
      distinct.push(v)
    }
    keys[i] = k
  }
  // The narrowest index type: an all-null or 6-value column then costs 1 byte a row, not 4.
  const dictionary = makeVector(utf8Data(new Utf8(), distinct, distinct.length) as Data<Utf8>)
  if (distinct.length <= 0x7f) {
    const props = { type: new Dictionary(new Utf8(), new Int8()), length: n, nullCount, nullBitmap: bitmap }
    return makeData<Dictionary<Utf8, Int8>>({ ...props, data: narrow(Int8Array, keys, n), dictionary })
  }
  if (distinct.length <= 0x7fff) {
    const props = { type: new Dictionary(new Utf8(), new Int16()), length: n, nullCount, nullBitmap: bitmap }
    return makeData<Dictionary<Utf8, Int16>>({ ...props, data: narrow(Int16Array, keys, n), dictionary })
  }
  const props = { type: new Dictionary(new Utf8(), new Int32()), length: n, nullCount, nullBitmap: bitmap }
  return makeData<Dictionary<Utf8, Int32>>({ ...props, data: keys.slice(0, n), dictionary })
}

function narrow<T extends Int8Array | Int16Array>(
  Ctor: new (n: number) => T,
  keys: Int32Array,
  n: number,
): T {
  const out = new Ctor(n)
  out.set(keys.subarray(0, n))
  return out
}

function mapData(type: Map_, mapType: IcebergMapType, col: Extracted, n: number): Data {
  if (mapType.key !== 'string' || mapType.value !== 'string') {
    throw new Error('only map<string,string> columns are supported by the Parquet writer')
  }
  const offsets = new Int32Array(n + 1)
  const keys: string[] = []
  const vals: (string | null)[] = []
  for (let i = 0; i < n; i++) {
    const m = col.values[i] as Record<string, string | null> | null
    if (m !== null) {
      for (const k in m) {
        keys.push(k)
        vals.push(m[k] ?? null)
      }
    }
    offsets[i + 1] = keys.length
  }
  const entriesType = type.children[0].type as Struct
  const [keyField, valueField] = entriesType.children
  const entries = makeData({
    type: entriesType,
    length: keys.length,
    nullCount: 0,
    children: [utf8Data(keyField.type, keys, keys.length), utf8Data(valueField.type, vals, vals.length)],
  })
  return makeData({
    type,
    length: n,
    nullCount: col.nullCount,
    nullBitmap: col.bitmap,
    valueOffsets: offsets,
    child: entries,
  })
}

const TWO_32 = 2 ** 32

/**
 * Int64 values without a BigInt per value: a safe-integer number is split into its two 32-bit
 * halves (little endian) in place; bigints (allowed by validation) are stored as they are.
 */
function int64Values(values: readonly unknown[], n: number): BigInt64Array {
  const data = new BigInt64Array(n)
  const words = new Uint32Array(data.buffer)
  for (let i = 0; i < n; i++) {
    const v = values[i] as number | bigint | null
    if (v === null) continue
    if (typeof v === 'bigint') data[i] = v
    else {
      const hi = Math.floor(v / TWO_32)
      words[2 * i] = v - hi * TWO_32
      words[2 * i + 1] = hi >>> 0
    }
  }
  return data
}

/** Buffers reused by every column of one encode (fewer big allocations → fewer full GCs). */
interface Scratch {
  values: unknown[]
  keys: Int32Array
}

function columnData(field: IcebergField, aField: Field, rows: readonly Row[], scratch: Scratch): Data {
  const n = rows.length
  const col = extract(rows, field.name, scratch.values)
  const { values, bitmap, nullCount } = col
  const type = aField.type
  if (typeof field.type === 'object') return mapData(type as Map_, field.type, col, n)
  switch (field.type) {
    case 'string':
    case 'uuid':
      return stringData(aField, col, n, scratch.keys)
    case 'long':
    case 'timestamp':
    case 'timestamptz': {
      const data = int64Values(values, n)
      return makeData({ type: type as Int64, length: n, nullCount, nullBitmap: bitmap, data })
    }
    case 'int':
    case 'date':
    case 'float':
    case 'double': {
      const Ctor = field.type === 'float' ? Float32Array : field.type === 'double' ? Float64Array : Int32Array
      const data = new Ctor(n)
      for (let i = 0; i < n; i++) data[i] = (values[i] as number | null) ?? 0
      return makeData({
        type: type as Int32,
        length: n,
        nullCount,
        nullBitmap: bitmap,
        data: data as Int32Array,
      })
    }
    case 'boolean': {
      const data = new Uint8Array((n + 7) >> 3)
      for (let i = 0; i < n; i++) if (values[i] === true) data[i >> 3] |= 1 << (i & 7)
      return makeData({ type: type as Bool, length: n, nullCount, nullBitmap: bitmap, data })
    }
    case 'binary': {
      const offsets = new Int32Array(n + 1)
      for (let i = 0; i < n; i++)
        offsets[i + 1] = offsets[i] + ((values[i] as Uint8Array | null)?.length ?? 0)
      const data = new Uint8Array(offsets[n])
      for (let i = 0; i < n; i++) if (values[i] !== null) data.set(values[i] as Uint8Array, offsets[i])
      return makeData({
        type: type as Binary,
        length: n,
        nullCount,
        nullBitmap: bitmap,
        valueOffsets: offsets,
        data,
      })
    }
  }
}

/**
 * An Arrow table of `rows` (already validated) with Iceberg field ids in the field metadata.
 * Low-cardinality string columns become dictionary vectors, so the Arrow schema is derived from the
 * built columns (same names, nullability and field ids as `arrowSchema`).
 */
export function rowsToArrow(schema: IcebergSchema, rows: readonly Row[]): ArrowTable {
  const base = arrowSchema(schema)
  const scratch = { values: new Array<unknown>(rows.length), keys: new Int32Array(rows.length) }
  const children = schema.fields.map((f, i) => columnData(f, base.fields[i], rows, scratch))
  const fields = base.fields.map((f, i) =>
    children[i].type === f.type ? f : new Field(f.name, children[i].type, f.nullable, f.metadata),
  )
  const aSchema = new Schema(fields)
  const struct = makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children })
  return new ArrowTable([new RecordBatch(aSchema, struct)])
}

export interface ParquetWriteOptions {
  /** Rows per row group; Floe flushes are small, so one row group per file is the norm. */
  rowGroupSize?: number
}

/**
 * The schema in Java's `SchemaParser.toJson` shape and key order: `type`, `schema-id`,
 * `identifier-field-ids` (when set), `fields` (`id`, `name`, `required`, `type`, `doc`), maps as
 * `type`, `key-id`, `key`, `value-id`, `value`, `value-required`; compact.
 */
export function icebergSchemaJson(schema: IcebergSchema): string {
  const type = (t: IcebergType): unknown =>
    typeof t === 'string'
      ? t
      : {
          type: 'map',
          'key-id': t['key-id'],
          key: type(t.key),
          'value-id': t['value-id'],
          value: type(t.value),
          'value-required': t['value-required'],
        }
  return JSON.stringify({
    type: 'struct',
    'schema-id': schema['schema-id'],
    ...(schema['identifier-field-ids']?.length && { 'identifier-field-ids': schema['identifier-field-ids'] }),
    fields: schema.fields.map((f) => ({
      id: f.id,
      name: f.name,
      required: f.required,
      type: type(f.type),
      ...(f.doc !== undefined && { doc: f.doc }),
    })),
  })
}

/** The footer's created_by (see writerProperties). */
export const PARQUET_CREATED_BY = 'Floe version 0.1.0 (build parquet-wasm arrow-rs)'

function writerProperties(schema: IcebergSchema, opts: ParquetWriteOptions): WriterPropertiesBuilder {
  let b = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD)
    .setWriterVersion(WriterVersion.V1)
    .setMaxRowGroupSize(opts.rowGroupSize ?? 1_000_000)
    // "<application> version <v> (build <b>)": the only shape parquet-mr's VersionParser accepts.
    // Java readers (Spark, Iceberg Java) ignore the string/binary min/max statistics of a file
    // whose created_by does not parse, so row-group pruning on string columns would be lost.
    .setCreatedBy(PARQUET_CREATED_BY)
    // As Java's writers do: the Iceberg schema the file was written with, as JSON, in the footer's
    // key-value metadata (readers that find no field ids, or tools inspecting a lone file, use it).
    .setKeyValueMetadata(new Map([['iceberg.schema', icebergSchemaJson(schema)]]))
  for (const f of schema.fields) {
    // Timestamps are near-sorted within a flush: delta encoding beats dictionary/plain by far.
    if (f.type === 'timestamptz' || f.type === 'timestamp' || f.type === 'long') {
      b = b.setColumnDictionaryEnabled(f.name, false).setColumnEncoding(f.name, Encoding.DELTA_BINARY_PACKED)
    }
  }
  return b
}

/** Encode validated rows as one Parquet file (ZSTD, field ids on every column). */
export function encodeParquet(
  schema: IcebergSchema,
  rows: readonly Row[],
  opts: ParquetWriteOptions = {},
): Uint8Array {
  const ipc = tableToIPC(rowsToArrow(schema, rows), 'stream')
  const wasmTable = WasmTable.fromIPCStream(ipc)
  return writeParquet(wasmTable, writerProperties(schema, opts).build())
}

/**
 * Encode row batches as one Parquet file without holding all rows or all bytes at once
 * (compaction): each batch becomes Arrow, crosses into WASM and is written as (at most) one row
 * group of `rowGroupSize` rows; arrow-rs keeps only the open row group, and the file's bytes come
 * out as chunks for `FileIO.writeStream` as row groups are finished, the footer last. `batches` is
 * pulled one batch at a time, so the caller decides how many rows are in memory.
 */
export async function* encodeParquetStream(
  schema: IcebergSchema,
  batches: AsyncIterable<readonly Row[]>,
  opts: ParquetWriteOptions = {},
): AsyncGenerator<Uint8Array> {
  const it = batches[Symbol.asyncIterator]()
  const input = new ReadableStream({
    async pull(controller) {
      for (;;) {
        const next = await it.next()
        if (next.done) return controller.close()
        if (next.value.length === 0) continue
        const ipc = tableToIPC(rowsToArrow(schema, next.value), 'stream')
        return controller.enqueue(WasmTable.fromIPCStream(ipc).recordBatch(0))
      }
    },
  })
  const output = await transformParquetStream(input, writerProperties(schema, opts).build())
  const reader = output.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      yield value as Uint8Array
    }
  } finally {
    reader.releaseLock()
  }
}
