/**
 * BigInt-safe JSON for Iceberg table metadata (and REST payloads).
 *
 * Why the parser is hand-written: plain `JSON.parse` rounds integers above 2^53 (snapshot ids are
 * 63-bit and other engines write them). Node 24's reviver `context.source` could keep them, but
 * measured on 400 KiB of table metadata it parses at 0.35-0.8x this parser's speed (one JS call
 * per value, bench/json.ts), so the parser stays; writing uses `JSON.rawJSON`, which is faster
 * (docs/decisions.md). We also want *key-aware* typing: every long field of
 * the metadata (`snapshot-id`, `sequence-number`, `timestamp-ms`, ...) becomes a `bigint` even when
 * it is small, so the typed `TableMetadata` is honest, while other integers stay `number`.
 * Unknown keys keep their exact value: an integer outside the safe range becomes a `bigint` and is
 * written back digit for digit.
 */

import { assertJsonDepth } from './json-depth.ts'
import { JsonSyntaxError } from './json-error.ts'

/** Keys whose integer values are Iceberg `long`s (table metadata, snapshots, refs, logs, stats). */
export const LONG_KEYS: ReadonlySet<string> = new Set([
  'snapshot-id',
  'parent-snapshot-id',
  'current-snapshot-id',
  'sequence-number',
  'last-sequence-number',
  'timestamp-ms',
  'last-updated-ms',
  'max-ref-age-ms',
  'max-snapshot-age-ms',
  'file-size-in-bytes',
  'file-footer-size-in-bytes',
  'next-row-id',
  'first-row-id',
  'added-rows',
])

export { JsonSyntaxError }

/**
 * Parse JSON text; integers under `longKeys` become bigint, unsafe integers elsewhere too.
 * Text nesting deeper than MAX_JSON_DEPTH is refused before parsing (json-depth.ts), so the
 * recursion below is bounded.
 */
export function parseJson(text: string, longKeys: ReadonlySet<string> = LONG_KEYS): unknown {
  assertJsonDepth(text)
  let i = 0
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at offset ${i}`)
  }
  const ws = (): void => {
    for (;;) {
      const c = text.charCodeAt(i)
      if (c === 32 || c === 10 || c === 13 || c === 9) i++
      else return
    }
  }
  const str = (): string => {
    // Find the closing quote, skipping escapes, then let the native parser decode the literal.
    const start = i
    i++
    let escaped = false
    for (;;) {
      const c = text.charCodeAt(i)
      if (Number.isNaN(c)) fail('unterminated string')
      i++
      if (c === 92) {
        escaped = true
        i++
      } else if (c === 34) break
    }
    const raw = text.slice(start, i)
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1)
  }
  const num = (key: string | undefined): number | bigint => {
    const m = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y
    m.lastIndex = i
    const r = m.exec(text)
    if (!r) return fail('bad number')
    i = m.lastIndex
    const lit = r[0]
    if (r[1] !== undefined || r[2] !== undefined) return Number(lit)
    if (key !== undefined && longKeys.has(key)) return BigInt(lit)
    const n = Number(lit)
    return Number.isSafeInteger(n) ? n : BigInt(lit)
  }
  const value = (key: string | undefined): unknown => {
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      const obj: Record<string, unknown> = {}
      ws()
      if (text[i] === '}') {
        i++
        return obj
      }
      for (;;) {
        ws()
        if (text[i] !== '"') fail('expected key')
        const k = str()
        ws()
        if (text[i] !== ':') fail('expected ":"')
        i++
        obj[k] = value(k)
        ws()
        if (text[i] === ',') i++
        else if (text[i] === '}') {
          i++
          return obj
        } else fail('expected "," or "}"')
      }
    }
    if (c === '[') {
      i++
      const arr: unknown[] = []
      ws()
      if (text[i] === ']') {
        i++
        return arr
      }
      for (;;) {
        // Array elements inherit the key so e.g. a list of snapshot ids stays bigint.
        arr.push(value(key))
        ws()
        if (text[i] === ',') i++
        else if (text[i] === ']') {
          i++
          return arr
        } else fail('expected "," or "]"')
      }
    }
    if (c === '"') return str()
    if (text.startsWith('true', i)) return ((i += 4), true)
    if (text.startsWith('false', i)) return ((i += 5), false)
    if (text.startsWith('null', i)) return ((i += 4), null)
    return num(key)
  }
  const result = value(undefined)
  ws()
  if (i !== text.length) fail('trailing characters')
  return result
}

// Node 24's JSON.rawJSON: a value JSON.stringify writes as the given text, verbatim. Not yet in
// TypeScript's lib typings, hence the cast.
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON

/** Bigints become raw integer literals; everything else is JSON.stringify's business. */
function bigintsRaw(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? rawJSON(v.toString()) : v
}

/**
 * Serialize like `JSON.stringify(value, null, indent)` but writing bigints as plain integer literals
 * (native JSON.stringify with `JSON.rawJSON`: 1.2-3.2x the speed of the hand-written serializer it
 * replaced, bench/json.ts). `undefined` object members are skipped (as JSON.stringify does); a value
 * with no JSON form at all (undefined, a function) is an error rather than `undefined`.
 */
export function stringifyJson(value: unknown, indent = 0): string {
  const text = JSON.stringify(value, bigintsRaw, indent) as string | undefined
  if (text === undefined) throw new TypeError(`cannot serialize ${typeof value} to JSON`)
  return text
}
