/**
 * Independent readers for checking what Floe wrote, none of which share code with src/write/:
 * - the live data files of the current snapshot, decoded from the manifest list and manifests with
 *   Debian's python3-avro (/usr/bin/python3);
 * - DuckDB (`@duckdb/node-api`) for Parquet schemas (field ids, types) and values;
 * - icebird for a full table scan through `fetch`, with a fetch shim that serves `file://` URLs and
 *   maps icebird's `https://<bucket>.s3.amazonaws.com/<key>` URLs to a local S3 server (s3rver).
 *
 * Files in S3 are read from s3rver's folder (`<dir>/<bucket>/<key>._S3rver_object` holds the raw
 * object bytes) since DuckDB has no httpfs offline.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { inflatingAvroFetch } from './icebird-avro.ts'

/** Where a warehouse URI's bytes are on this machine. */
export type LocalPathOf = (uri: string) => string

export function localPathResolver(s3?: { dir: string }): LocalPathOf {
  return (uri) => {
    if (uri.startsWith('file://')) return uri.slice('file://'.length)
    if (uri.startsWith('file:/')) return uri.slice('file:'.length)
    const m = /^s3a?:\/\/([^/]+)\/(.*)$/.exec(uri)
    if (m && s3) return path.join(s3.dir, m[1], `${m[2]}._S3rver_object`)
    throw new Error(`no local path for ${uri}`)
  }
}

export interface LiveDataFile {
  file_path: string
  record_count: number
  file_size_in_bytes: number
  sort_order_id: number | null
  status: number
  partition: Record<string, unknown>
}

const PY_LIVE_FILES = `
import json, os, re, sys
from avro.datafile import DataFileReader
from avro.io import DatumReader
s3dir = sys.argv[1] or None
def local(uri):
    if uri.startswith('file://'): return uri[len('file://'):]
    if uri.startswith('file:/'): return uri[len('file:'):]
    m = re.match(r'^s3a?://([^/]+)/(.*)$', uri)
    if m and s3dir: return os.path.join(s3dir, m.group(1), m.group(2) + '._S3rver_object')
    raise Exception('no local path for ' + uri)
out = []
with DataFileReader(open(local(sys.argv[2]), 'rb'), DatumReader()) as lst:
    manifests = [m for m in lst]
for m in manifests:
    with DataFileReader(open(local(m['manifest_path']), 'rb'), DatumReader()) as man:
        for e in man:
            df = e['data_file']
            if e['status'] == 2: continue
            out.append({'file_path': df['file_path'], 'record_count': df['record_count'],
                        'file_size_in_bytes': df['file_size_in_bytes'],
                        'sort_order_id': df.get('sort_order_id'), 'status': e['status'],
                        'partition': df['partition']})
print(json.dumps(out, default=str))
`

/**
 * Live (not DELETED) data files of the snapshot whose manifest list is `manifestList`, decoded by
 * python3-avro from the local folder or from s3rver's folder `s3Dir`.
 */
export function liveDataFiles(manifestList: string, s3Dir?: string): LiveDataFile[] {
  const out = execFileSync('/usr/bin/python3', ['-c', PY_LIVE_FILES, s3Dir ?? '', manifestList], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'], // python3-avro warns that it reads logicalType "map" as an array
  })
  return JSON.parse(out) as LiveDataFile[]
}

export interface ParquetColumn {
  name: string
  field_id: number | null
  type: string | null
  logical_type: string | null
  repetition_type: string | null
}

export async function withDuckDb<T>(
  fn: (run: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>,
): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' })
  const conn = await instance.connect()
  try {
    return await fn(
      async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[],
    )
  } finally {
    conn.closeSync()
    instance.closeSync()
  }
}

export const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`

/** DuckDB's `parquet_schema` of one file. */
export async function parquetSchema(localFile: string): Promise<ParquetColumn[]> {
  return withDuckDb(async (run) => {
    const rows = await run(
      `SELECT name, field_id, type, logical_type::VARCHAR AS logical_type, repetition_type FROM parquet_schema(${sqlString(localFile)})`,
    )
    return rows.map((r) => ({
      name: String(r.name),
      field_id: r.field_id === null ? null : Number(r.field_id),
      type: (r.type as string | null) ?? null,
      logical_type: (r.logical_type as string | null) ?? null,
      repetition_type: (r.repetition_type as string | null) ?? null,
    }))
  })
}

/**
 * All rows of the given Parquet files through DuckDB's `read_parquet`, with timestamptz columns as
 * integer microseconds and map columns as plain objects, ordered by `orderBy`.
 */
export async function duckDbRows(
  localFiles: string[],
  opts: { timestamps: string[]; maps: string[]; orderBy: string },
): Promise<Record<string, unknown>[]> {
  const list = `[${localFiles.map(sqlString).join(', ')}]`
  const exclude = [...opts.timestamps, ...opts.maps]
  const cols = [
    `* EXCLUDE (${exclude.join(', ')})`,
    ...opts.timestamps.map((c) => `epoch_us(${c}) AS ${c}`),
    ...opts.maps.map((c) => `to_json(${c})::VARCHAR AS ${c}`),
  ]
  const rows = await withDuckDb((run) =>
    run(
      `SELECT ${cols.join(', ')} FROM read_parquet(${list}, hive_partitioning = false) ORDER BY ${opts.orderBy}`,
    ),
  )
  return rows.map((r) => {
    const o: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(r)) {
      if (opts.timestamps.includes(k)) o[k] = Number(v as bigint)
      else if (opts.maps.includes(k)) o[k] = v === null ? null : JSON.parse(v as string)
      else o[k] = v
    }
    return o
  })
}

/**
 * Replace global `fetch` so icebird can read `file://` URLs (Node 20's fetch cannot) and, when
 * `s3` is given, icebird's virtual-host AWS URLs are sent to the local S3 server (path style).
 * Range requests are honoured for files; Avro files come with their blocks inflated, see
 * icebird-avro.ts. Returns a function restoring the original fetch.
 */
export function installIcebirdFetch(s3?: { endpoint: string }): () => void {
  const original = globalThis.fetch
  const shim = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (url.startsWith('file://')) {
      let bytes: Buffer
      try {
        bytes = readFileSync(url.slice('file://'.length))
      } catch {
        return new Response(null, { status: 404 })
      }
      const headers = new Headers(init?.headers)
      if (init?.method === 'HEAD')
        return new Response(null, { status: 200, headers: { 'content-length': String(bytes.length) } })
      const range = /^bytes=(\d+)-(\d*)$/.exec(headers.get('range') ?? '')
      if (range) {
        const start = Number(range[1])
        const end = range[2] === '' ? bytes.length - 1 : Math.min(Number(range[2]), bytes.length - 1)
        return new Response(bytes.subarray(start, end + 1), {
          status: 206,
          headers: {
            'content-range': `bytes ${start}-${end}/${bytes.length}`,
            'content-length': String(end - start + 1),
          },
        })
      }
      return new Response(bytes, { status: 200, headers: { 'content-length': String(bytes.length) } })
    }
    const aws = /^https:\/\/([^.]+)\.s3\.amazonaws\.com(\/.*)$/.exec(url)
    if (aws && s3) return original(`${s3.endpoint}/${aws[1]}${aws[2]}`, init)
    return original(input, init)
  }
  // icebird cannot inflate every valid Avro deflate block (icebird-avro.ts): it gets them inflated.
  globalThis.fetch = inflatingAvroFetch(shim as typeof fetch)
  return () => {
    globalThis.fetch = original
  }
}

/**
 * Rows of a full icebird scan, read in windows of `window` rows (icebird's rowStart/rowEnd) so a
 * table of millions of rows never sits in memory at once; every row of every window is decoded.
 */
export async function icebirdScanCount(metadataLocation: string, window = 100_000): Promise<number> {
  await icebirdExactTimestamps()
  const { icebergRead, icebergMetadata } = await import('icebird')
  const restore = installIcebirdFetch()
  try {
    const slash = metadataLocation.lastIndexOf('/')
    const tableUrl = metadataLocation.slice(0, slash).replace(/\/metadata$/, '')
    const metadata = await icebergMetadata({ tableUrl, metadataFileName: metadataLocation.slice(slash + 1) })
    let n = 0
    for (;;) {
      const rows = await icebergRead({ tableUrl, metadata, rowStart: n, rowEnd: n + window })
      n += rows.length
      if (rows.length < window) return n
    }
  } finally {
    restore()
  }
}

/**
 * icebird (with its own hyparquet) turns INT64 TIMESTAMP(MICROS) into a JS Date, dropping the
 * microseconds. Its hyparquet merges `DEFAULT_PARSERS` at every read, so setting the timestamp
 * parser there makes icebird hand back the exact microseconds as bigint — reader configuration,
 * the equivalent of hyparquet's own `parsers` option that icebird does not pass through.
 */
async function icebirdExactTimestamps(): Promise<void> {
  const convert = new URL('../../node_modules/icebird/node_modules/hyparquet/src/convert.js', import.meta.url)
  const mod = (await import(convert.href)) as {
    DEFAULT_PARSERS: { timestampFromMicroseconds: (v: bigint) => unknown }
  }
  mod.DEFAULT_PARSERS.timestampFromMicroseconds = (v: bigint) => v
}

/** Full scan of a table with icebird; `s3` routes its S3 URLs to the local S3 server. */
export async function icebirdScan(
  metadataLocation: string,
  s3?: { endpoint: string },
): Promise<Record<string, unknown>[]> {
  await icebirdExactTimestamps()
  const { icebergRead } = await import('icebird')
  const restore = installIcebirdFetch(s3)
  try {
    const slash = metadataLocation.lastIndexOf('/')
    const tableUrl = metadataLocation.slice(0, slash).replace(/\/metadata$/, '')
    return await icebergRead({ tableUrl, metadataFileName: metadataLocation.slice(slash + 1) })
  } finally {
    restore()
  }
}
