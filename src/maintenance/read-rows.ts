/**
 * Parquet data files back into Floe rows, one row group at a time (compaction's input side).
 *
 * hyparquet decodes the row groups (fzstd for ZSTD pages, the codec Floe and most engines write);
 * timestamps are kept as microseconds and columns absent from a row (hyparquet leaves out null
 * maps) become null, so the rows are exactly what `encodeParquet` takes. Columns are matched by
 * name, as Floe's own files and icebird do; compaction only runs on tables whose schema is Floe's.
 */
import { parquetMetadata, parquetReadObjects, type Compressors } from 'hyparquet'
import { decompress } from 'fzstd'
import type { Row } from '../rows.ts'
import type { IcebergSchema } from '../table/metadata.ts'

const COMPRESSORS: Compressors = {
  ZSTD: (input: Uint8Array, outputLength: number) => decompress(input, new Uint8Array(outputLength)),
}

const PARSERS = {
  timestampFromMicroseconds: (v: bigint) => Number(v),
  timestampFromMilliseconds: (v: bigint) => Number(v) * 1000,
  timestampFromNanoseconds: (v: bigint) => Number(v / 1000n),
}

/** Rows of each row group of one Parquet file, in file order. */
export async function* rowGroups(bytes: Uint8Array, schema: IcebergSchema): AsyncGenerator<Row[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  const meta = parquetMetadata(file)
  const names = schema.fields.map((f) => f.name)
  let start = 0
  for (const rg of meta.row_groups) {
    const end = start + Number(rg.num_rows)
    const objs = (await parquetReadObjects({
      file,
      metadata: meta,
      rowStart: start,
      rowEnd: end,
      compressors: COMPRESSORS,
      parsers: PARSERS,
    })) as Row[]
    for (const o of objs) for (const n of names) if (o[n] === undefined) o[n] = null
    start = end
    yield objs
  }
}
