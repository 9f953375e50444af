/**
 * The write-ahead log's record format (pure: bytes in, records out).
 *
 * A record is everything one `accept` call took (both tables), so a request's rows are durable
 * together or not at all:
 *
 *   offset 0   u32 LE  payload length N
 *   offset 4   u32 LE  CRC-32 of bytes [8, 16 + N)  (seq + payload, so a torn seq is caught too)
 *   offset 8   u64 LE  seq (per-writer, strictly increasing, < 2^53)
 *   offset 16  N bytes UTF-8 JSON `{"pa_events": [rows], "pa_sessions": [rows]}` (empty tables omitted),
 *              plus `"claimed": true` when the record's keyed rows were claimed in the idempotency
 *              ledger under (writer id, seq) (buffer/ledger.ts; recovery keeps only the rows it holds)
 *
 * Why hand-written: the format is 20 lines, and what matters is exactly how a torn tail is detected
 * after a crash; no npm WAL library gives that with group commit and per-table truncation.
 *
 * Privacy: the payload holds enriched rows only (the columns of `schemas/*.json`); the client IP
 * never reaches this layer.
 */
import { crc32 } from 'node:zlib'
import type { Row, TableName } from '../rows.ts'
import { TABLE_NAMES } from '../rows.ts'

export const RECORD_HEADER_BYTES = 16
/** A record above this is corrupt (the body limit keeps real ones far below). */
const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024

export type TableRows = Partial<Record<TableName, readonly Row[]>>

export interface WalRecord {
  seq: number
  tables: Partial<Record<TableName, Row[]>>
  /** The record's keyed rows were claimed in the idempotency ledger (buffer/ledger.ts). */
  claimed?: boolean
  /** Encoded size on disk (header + payload). */
  bytes: number
}

export interface EncodedRecord {
  buf: Buffer
  /** Bytes of each table's rows in the payload (for the per-table bytes trigger). */
  sizes: Partial<Record<TableName, number>>
}

export function encodeRecord(seq: number, tables: TableRows, claimed = false): EncodedRecord {
  // Built from per-table JSON strings so each table's share of the record is known.
  const parts: string[] = []
  const sizes: Partial<Record<TableName, number>> = {}
  for (const t of TABLE_NAMES) {
    const rows = tables[t]
    if (!rows || rows.length === 0) continue
    const json = JSON.stringify(rows)
    sizes[t] = Buffer.byteLength(json)
    parts.push(`"${t}":${json}`)
  }
  if (claimed) parts.push('"claimed":true')
  const payload = Buffer.from(`{${parts.join(',')}}`, 'utf8')
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length)
  buf.writeUInt32LE(payload.length, 0)
  buf.writeBigUInt64LE(BigInt(seq), 8)
  payload.copy(buf, RECORD_HEADER_BYTES)
  buf.writeUInt32LE(crc32(buf.subarray(8)), 4)
  return { buf, sizes }
}

export interface DecodedSegment {
  records: WalRecord[]
  /** Bytes of valid records; anything after this is a torn or corrupt tail and is ignored. */
  validBytes: number
  /** True when bytes after `validBytes` were ignored. */
  tornTail: boolean
}

/**
 * Decodes records until the first incomplete or corrupt one. After a crash only the tail can be
 * torn (records are appended in order and a record is acknowledged only after its write, and with
 * `fsync=always` its fsync, completed), so everything after the first bad record was never
 * acknowledged and is dropped.
 */
export function decodeSegment(buf: Buffer): DecodedSegment {
  const records: WalRecord[] = []
  let off = 0
  let lastSeq = 0
  while (off + RECORD_HEADER_BYTES <= buf.length) {
    const len = buf.readUInt32LE(off)
    const end = off + RECORD_HEADER_BYTES + len
    if (len > MAX_PAYLOAD_BYTES || end > buf.length) break
    if (crc32(buf.subarray(off + 8, end)) !== buf.readUInt32LE(off + 4)) break
    const seq = Number(buf.readBigUInt64LE(off + 8))
    if (seq <= lastSeq) break
    let parsed: Record<string, unknown>
    try {
      parsed = JSON.parse(buf.toString('utf8', off + RECORD_HEADER_BYTES, end))
    } catch {
      break
    }
    const tables: Partial<Record<TableName, Row[]>> = {}
    let valid = parsed !== null && typeof parsed === 'object'
    let claimed = false
    for (const [k, v] of Object.entries(parsed ?? {})) {
      if (k === 'claimed' && v === true) claimed = true
      else if (!TABLE_NAMES.includes(k as TableName) || !Array.isArray(v)) valid = false
      else tables[k as TableName] = v as Row[]
    }
    if (!valid) break
    records.push(claimed ? { seq, tables, bytes: end - off, claimed } : { seq, tables, bytes: end - off })
    lastSeq = seq
    off = end
  }
  return { records, validBytes: off, tornTail: off < buf.length }
}
