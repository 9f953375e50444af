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

/**
 * One record's payload, not yet in bytes: `append` builds it when a request arrives (the JSON is the
 * only per-event work), and the group write encodes every waiting payload straight into one buffer.
 */
export interface RecordPayload {
  /** `{"pa_events":[…],"pa_sessions":[…]}` (empty tables omitted). */
  json: string
  /** UTF-8 length of `json`. */
  bytes: number
  /** Bytes of each table's rows in the payload (for the per-table bytes trigger). */
  sizes: Partial<Record<TableName, number>>
}

export function recordPayload(tables: TableRows, claimed = false): RecordPayload {
  // Built from per-table JSON strings so each table's share of the record is known; the keys and
  // punctuation are ASCII, so the total is their length plus the tables' UTF-8 sizes (one scan).
  let json = '{'
  let bytes = 2
  const sizes: Partial<Record<TableName, number>> = {}
  for (const t of TABLE_NAMES) {
    const rows = tables[t]
    if (!rows || rows.length === 0) continue
    const part = JSON.stringify(rows)
    const size = Buffer.byteLength(part)
    sizes[t] = size
    const key = `${json.length > 1 ? ',' : ''}"${t}":`
    json += key + part
    bytes += key.length + size
  }
  // The idempotency mark (see TableRows's `claimed` above): its rows are claimed under this seq.
  if (claimed) {
    const mark = `${json.length > 1 ? ',' : ''}"claimed":true`
    json += mark
    bytes += mark.length
  }
  return { json: json + '}', bytes, sizes }
}

/** Bytes of the whole record (header + payload). */
export function recordBytes(payload: RecordPayload): number {
  return RECORD_HEADER_BYTES + payload.bytes
}

/**
 * Encodes one record into `target` at `offset` (which must have `recordBytes(payload)` bytes free)
 * and returns the offset after it: the payload's only copy is its UTF-8 encoding in place.
 */
export function writeRecord(target: Buffer, offset: number, seq: number, payload: RecordPayload): number {
  const end = offset + RECORD_HEADER_BYTES + payload.bytes
  target.writeUInt32LE(payload.bytes, offset)
  target.writeBigUInt64LE(BigInt(seq), offset + 8)
  target.write(payload.json, offset + RECORD_HEADER_BYTES, payload.bytes, 'utf8')
  target.writeUInt32LE(crc32(target.subarray(offset + 8, end)), offset + 4)
  return end
}

/** One record in a buffer of its own (tests, tools); the WAL writes groups with `writeRecord`. */
export function encodeRecord(seq: number, tables: TableRows, claimed = false): EncodedRecord {
  const payload = recordPayload(tables, claimed)
  const buf = Buffer.allocUnsafe(recordBytes(payload))
  writeRecord(buf, 0, seq, payload)
  return { buf, sizes: payload.sizes }
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
