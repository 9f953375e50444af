/**
 * Reads Floe's tables back with independent readers, for the end-to-end, crash and outage tests:
 * - the current metadata location straight from the JDBC catalog table in Postgres (Iceberg Java's
 *   `iceberg_tables` layout), not through Floe's code;
 * - icebird for the Iceberg table (metadata → manifest list → manifests → Parquet rows);
 * - DuckDB for the Parquet data files the manifests list.
 *
 * icebird fetches through the global `fetch`: `file://` URLs and the `https://<bucket>.s3.amazonaws.com`
 * URLs it makes of `s3://` locations are redirected by a small fetch shim (with Range support) to
 * the local folder or the test S3 server; Avro files reach icebird with their blocks inflated
 * (test/support/icebird-avro.ts: icebird's inflater loses bytes of some valid deflate blocks).
 */
import { promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { icebergManifests, icebergMetadata, icebergRead } from 'icebird'
import { DuckDBInstance } from '@duckdb/node-api'
import { inflatingAvroFetch } from '../support/icebird-avro.ts'

const realFetch = globalThis.fetch
let s3Endpoint: string | undefined

function rangeOf(header: string | null, size: number): [number, number] | undefined {
  const m = /bytes=(\d*)-(\d*)/.exec(header ?? '')
  if (!m) return undefined
  if (m[1] === '') return [Math.max(0, size - Number(m[2])), size - 1]
  return [Number(m[1]), m[2] === '' ? size - 1 : Math.min(size - 1, Number(m[2]))]
}

async function fileFetch(url: string, init?: RequestInit): Promise<Response> {
  const p = decodeURIComponent(url.slice('file://'.length))
  let buf: Buffer
  try {
    buf = await fs.readFile(p)
  } catch {
    return new Response('not found', { status: 404 })
  }
  const headers = new Headers(init?.headers)
  if (init?.method === 'HEAD')
    return new Response(null, { headers: { 'content-length': String(buf.length) } })
  const r = rangeOf(headers.get('range'), buf.length)
  if (!r) return new Response(buf, { headers: { 'content-length': String(buf.length) } })
  return new Response(buf.subarray(r[0], r[1] + 1), {
    status: 206,
    headers: { 'content-range': `bytes ${r[0]}-${r[1]}/${buf.length}` },
  })
}

/** Installs the shim once per process; `endpoint` points s3:// reads at the test S3 server. */
export function installFetchShim(endpoint?: string): void {
  s3Endpoint = endpoint
  const shim = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (url.startsWith('file://')) return fileFetch(url, init)
    const m = /^https:\/\/([^.]+)\.s3\.amazonaws\.com(\/.*)$/.exec(url)
    if (m && s3Endpoint) return realFetch(`${s3Endpoint}/${m[1]}${m[2]}`, init)
    return realFetch(input, init)
  }) as typeof fetch
  // icebird cannot inflate every valid Avro deflate block (icebird-avro.ts): it gets them inflated.
  globalThis.fetch = inflatingAvroFetch(shim)
}

/** The current metadata location of `analytics.<table>` from the JDBC catalog's own table. */
export async function metadataLocation(
  databaseUrl: string,
  table: string,
  namespace = 'analytics',
): Promise<string> {
  const c = new pg.Client({ connectionString: databaseUrl })
  await c.connect()
  try {
    const { rows } = await c.query(
      'SELECT metadata_location FROM iceberg_tables WHERE table_namespace = $1 AND table_name = $2',
      [namespace, table],
    )
    if (!rows[0]) throw new Error(`no catalog row for ${namespace}.${table}`)
    return rows[0].metadata_location as string
  } finally {
    await c.end()
  }
}

function splitLocation(location: string): { tableUrl: string; metadataFileName: string } {
  const i = location.lastIndexOf('/metadata/')
  return { tableUrl: location.slice(0, i), metadataFileName: location.slice(i + '/metadata/'.length) }
}

/** Every row of the table's current snapshot, via icebird. */
export async function readWithIcebird(location: string): Promise<Record<string, unknown>[]> {
  const metadata = await icebergMetadata(splitLocation(location))
  if (!metadata['current-snapshot-id'] || Number(metadata['current-snapshot-id']) < 0) return []
  return icebergRead({ tableUrl: splitLocation(location).tableUrl, metadata })
}

/** Snapshot summaries of the table (newest last), via icebird. */
export async function snapshotSummaries(location: string): Promise<Record<string, string>[]> {
  const metadata = await icebergMetadata(splitLocation(location))
  return (metadata.snapshots ?? []).map((s: { summary: Record<string, string> }) => s.summary)
}

/** Runs `sql` in DuckDB over the table's current data files, exposed as the view `t`. */
export async function queryWithDuckDB(location: string, sql: string): Promise<Record<string, unknown>[]> {
  const metadata = await icebergMetadata(splitLocation(location))
  const files: string[] = []
  if (metadata['current-snapshot-id'] && Number(metadata['current-snapshot-id']) >= 0) {
    for (const m of await icebergManifests(metadata))
      for (const e of m.entries) if (e.status !== 2) files.push(e.data_file.file_path)
  }
  if (files.length === 0) return []
  const dir = await fs.mkdtemp(path.join(tmpdir(), 'floe-duck-'))
  try {
    const local: string[] = []
    for (const [i, f] of files.entries()) {
      if (f.startsWith('file://')) local.push(f.slice('file://'.length))
      else {
        const url = f.replace(/^s3:\/\/([^/]+)\//, `${s3Endpoint}/$1/`)
        const res = await realFetch(url)
        if (!res.ok) throw new Error(`GET ${url}: ${res.status}`)
        const p = path.join(dir, `${i}.parquet`)
        await fs.writeFile(p, Buffer.from(await res.arrayBuffer()))
        local.push(p)
      }
    }
    const db = await DuckDBInstance.create(':memory:')
    const conn = await db.connect()
    const list = local.map((p) => `'${p.replace(/'/g, "''")}'`).join(', ')
    await conn.run(`CREATE VIEW t AS SELECT * FROM read_parquet([${list}])`)
    const reader = await conn.runAndReadAll(sql)
    const rows = reader.getRowObjectsJS() as Record<string, unknown>[]
    conn.closeSync()
    return rows
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}
