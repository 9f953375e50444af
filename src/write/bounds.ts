/**
 * Iceberg's single-value binary serialization (spec Appendix D, Java `Conversions.toByteBuffer`)
 * used for lower/upper bounds in manifests and for partition summaries in manifest lists, plus the
 * `truncate(16)` metrics-mode rules for strings (Java `UnicodeUtil.truncateString[Max]`).
 */
import type { IcebergPrimitive } from '../table/metadata.ts'

/** A value as Floe holds it: numbers (micros for timestamps, days for dates), bigint, string, bytes. */
export type BoundValue = number | bigint | string | boolean | Uint8Array

const encoder = new TextEncoder()

/** Encode one value of an Iceberg primitive type as Iceberg's single-value bytes. */
export function encodeBound(type: IcebergPrimitive, value: BoundValue): Uint8Array {
  switch (type) {
    case 'boolean':
      return Uint8Array.of(value ? 1 : 0)
    case 'int':
    case 'date': {
      const out = new Uint8Array(4)
      new DataView(out.buffer).setInt32(0, Number(value), true)
      return out
    }
    case 'long':
    case 'timestamp':
    case 'timestamptz': {
      const out = new Uint8Array(8)
      new DataView(out.buffer).setBigInt64(
        0,
        typeof value === 'bigint' ? value : BigInt(value as number),
        true,
      )
      return out
    }
    case 'float': {
      const out = new Uint8Array(4)
      new DataView(out.buffer).setFloat32(0, Number(value), true)
      return out
    }
    case 'double': {
      const out = new Uint8Array(8)
      new DataView(out.buffer).setFloat64(0, Number(value), true)
      return out
    }
    case 'string':
      return typeof value === 'string' ? encoder.encode(value) : (value as Uint8Array)
    case 'uuid': {
      // 16 bytes big-endian, i.e. the hex digits of the canonical text in order.
      const hex = String(value).replace(/-/g, '')
      if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a UUID: ${String(value)}`)
      return Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)))
    }
    case 'binary':
      return value as Uint8Array
  }
}

/** The first `n` Unicode code points of `s` (a lower bound of every string with that prefix). */
export function truncateStringMin(s: string, n: number): string {
  let count = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) i++ // surrogate pair = one code point
    if (++count === n) return s.slice(0, i + 1)
  }
  return s
}

/**
 * An upper bound of every string starting with `s`, at most `n` code points: truncate, then
 * increment the last code point that can be incremented (dropping what follows). `undefined` when
 * none can be (Java then writes no upper bound). Unchanged if `s` is already short enough.
 */
export function truncateStringMax(s: string, n: number): string | undefined {
  const cps = Array.from(s)
  if (cps.length <= n) return s
  const kept = cps.slice(0, n)
  for (let i = kept.length - 1; i >= 0; i--) {
    let cp = kept[i].codePointAt(0)! + 1
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xe000 // skip the surrogate range, as Java does
    if (cp <= 0x10ffff) return kept.slice(0, i).join('') + String.fromCodePoint(cp)
  }
  return undefined
}

/** The first `n` bytes (binary lower bound). */
export function truncateBinaryMin(b: Uint8Array, n: number): Uint8Array {
  return b.length <= n ? b : b.slice(0, n)
}

/** Binary upper bound of at most `n` bytes (increment the last byte below 0xff), or undefined. */
export function truncateBinaryMax(b: Uint8Array, n: number): Uint8Array | undefined {
  if (b.length <= n) return b
  const out = b.slice(0, n)
  for (let i = n - 1; i >= 0; i--) {
    if (out[i] < 0xff) {
      out[i]++
      return out.slice(0, i + 1)
    }
  }
  return undefined
}
