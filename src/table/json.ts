/**
 * BigInt-safe JSON for Iceberg table metadata (and REST payloads).
 *
 * Why hand-written: Node 20's `JSON.parse` rounds integers above 2^53 (snapshot ids are 63-bit and
 * other engines write them: iceberg.md §10 #11), and neither the reviver `context.source` nor
 * `JSON.rawJSON` exists before Node 22/24. We also want *key-aware* typing: every long field of
 * the metadata (`snapshot-id`, `sequence-number`, `timestamp-ms`, ...) becomes a `bigint` even when
 * it is small, so the typed `TableMetadata` is honest, while other integers stay `number`.
 * Unknown keys keep their exact value: an integer outside the safe range becomes a `bigint` and is
 * written back digit for digit.
 */

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

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError'
}

/** Parse JSON text; integers under `longKeys` become bigint, unsafe integers elsewhere too. */
export function parseJson(text: string, longKeys: ReadonlySet<string> = LONG_KEYS): unknown {
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

/**
 * Serialize like `JSON.stringify(value, null, indent)` but writing bigints as plain integer literals.
 * `undefined` object members are skipped (as JSON.stringify does).
 */
export function stringifyJson(value: unknown, indent = 0): string {
  const pad = indent > 0 ? ' '.repeat(indent) : ''
  const out = (v: unknown, depth: string): string => {
    if (v === null) return 'null'
    switch (typeof v) {
      case 'bigint':
        return v.toString()
      case 'number':
        return Number.isFinite(v) ? String(v) : 'null'
      case 'string':
        return JSON.stringify(v)
      case 'boolean':
        return v ? 'true' : 'false'
      case 'object': {
        const inner = depth + pad
        const nl = pad ? '\n' : ''
        const sep = pad ? ': ' : ':'
        if (Array.isArray(v)) {
          if (v.length === 0) return '[]'
          const items = v.map((x) => (pad ? inner : '') + (x === undefined ? 'null' : out(x, inner)))
          return `[${nl}${items.join(`,${nl}`)}${nl}${pad ? depth : ''}]`
        }
        const entries = Object.entries(v as Record<string, unknown>).filter(
          ([, x]) => x !== undefined && typeof x !== 'function',
        )
        if (entries.length === 0) return '{}'
        const items = entries.map(([k, x]) => `${pad ? inner : ''}${JSON.stringify(k)}${sep}${out(x, inner)}`)
        return `{${nl}${items.join(`,${nl}`)}${nl}${pad ? depth : ''}}`
      }
      default:
        throw new TypeError(`cannot serialize ${typeof v} to JSON`)
    }
  }
  return out(value, '')
}
