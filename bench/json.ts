/**
 * BigInt-safe JSON, hand-written against Node 24's native JSON, on the same table-metadata text in
 * one run:
 * - parse: Floe's parser (src/table/json.ts, kept) against `JSON.parse` with the reviver's
 *   `context.source` (the candidate below); both with the flat depth pre-scan before parsing (the
 *   native reviver pass recurses in C++ on nesting depth), long keys as bigint, other integers
 *   beyond 2^53 exact;
 * - stringify: the hand-written serializer Floe had (below, as the reference) against Floe's
 *   `stringifyJson`, now native `JSON.stringify` with `JSON.rawJSON` for bigints.
 *
 *   npx tsx bench/json.ts [snapshots=500]      (BENCH_ROUNDS=5: best of N alternating rounds)
 *
 * Prints ops/s per side and native/hand ratios (> 1: native is faster), after checking both sides
 * give identical results on the bench document.
 */
import { isDeepStrictEqual } from 'node:util'
import { LONG_KEYS, parseJson, stringifyJson } from '../src/table/json.ts'
import { assertJsonDepth } from '../src/table/json-depth.ts'

const SNAPSHOTS = Number(process.argv[2] ?? 500) || 500
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)

// ---- native candidates ------------------------------------------------------------------------

interface ReviverContext {
  source?: string
}
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON

/** True if the literal is an integer (no fraction, no exponent), as the hand parser decides. */
function integerLiteral(src: string): boolean {
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i)
    if (c === 46 || c === 101 || c === 69) return false
  }
  return true
}

function toLongs(arr: unknown[], fractional: WeakMap<object, Set<number>>): unknown[] {
  const skip = fractional.get(arr)
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i]
    if (typeof v === 'number' && !skip?.has(i)) arr[i] = BigInt(v)
    else if (Array.isArray(v)) toLongs(v, fractional)
  }
  return arr
}

function parseNative(text: string, longKeys: ReadonlySet<string> = LONG_KEYS): unknown {
  assertJsonDepth(text)
  // Array elements inherit their array's key (as in the hand parser), which the reviver learns
  // only after the elements: non-integer literals are remembered per array, the rest converted then.
  const fractional = new WeakMap<object, Set<number>>()
  return JSON.parse(text, function (this: unknown, key: string, value: unknown, ctx?: ReviverContext) {
    if (typeof value === 'number') {
      const src = ctx!.source!
      if (!integerLiteral(src)) {
        if (Array.isArray(this)) {
          let s = fractional.get(this)
          if (!s) fractional.set(this, (s = new Set()))
          s.add(Number(key))
        }
        return value
      }
      if (!Array.isArray(this) && longKeys.has(key)) return BigInt(src)
      return Number.isSafeInteger(value) ? value : BigInt(src)
    }
    if (Array.isArray(value) && longKeys.has(key)) return toLongs(value, fractional)
    return value
  } as (this: unknown, key: string, value: unknown) => unknown)
}

/** The hand-written serializer Floe used before Node 24 (kept here as the reference). */
function stringifyHand(value: unknown, indent = 0): string {
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

// ---- the document ------------------------------------------------------------------------------

function metadata(n: number): unknown {
  const base = 8_000_000_000_000_000_000n
  const snapshots = Array.from({ length: n }, (_, i) => ({
    'sequence-number': BigInt(i + 1),
    'snapshot-id': base + BigInt(i) * 7919n,
    ...(i > 0 ? { 'parent-snapshot-id': base + BigInt(i - 1) * 7919n } : {}),
    'timestamp-ms': 1_764_000_000_000n + BigInt(i) * 30_000n,
    summary: {
      operation: 'append',
      'added-data-files': String(3),
      'added-records': String(1000 + i),
      'added-files-size': String(123456 + i),
      'total-records': String(1000 * (i + 1)),
      'total-data-files': String(3 * (i + 1)),
      'floe.writer-id': '0f6c1a3e-7d3e-4c55-9f0b-1d2e3f4a5b6c',
      'floe.wal-seq': String(1000 * (i + 1)),
      'floe.commit-id': `c0ffee00-0000-4000-8000-${String(i).padStart(12, '0')}`,
    },
    'manifest-list': `s3://bucket/product-analytics/analytics/pa_events/metadata/snap-${base + BigInt(i)}-1-c0ffee.avro`,
    'schema-id': 0,
  }))
  return {
    'format-version': 2,
    'table-uuid': '9c12d441-03fe-4693-9a96-a0705ddf69c1',
    location: 's3://bucket/product-analytics/analytics/pa_events',
    'last-sequence-number': BigInt(n),
    'last-updated-ms': 1_764_000_000_000n,
    'last-column-id': 40,
    'current-schema-id': 0,
    schemas: [
      {
        type: 'struct',
        'schema-id': 0,
        fields: Array.from({ length: 40 }, (_, i) => ({
          id: i + 1,
          name: `column_${i}`,
          required: i < 3,
          type: i % 5 === 0 ? 'timestamptz' : 'string',
          doc: 'a column with a doc string, as other engines write',
        })),
      },
    ],
    'default-spec-id': 0,
    'partition-specs': [
      {
        'spec-id': 0,
        fields: [{ name: 'event_time_day', transform: 'day', 'source-id': 1, 'field-id': 1000 }],
      },
    ],
    'last-partition-id': 1000,
    'default-sort-order-id': 0,
    'sort-orders': [{ 'order-id': 0, fields: [] }],
    properties: {
      'write.format.default': 'parquet',
      'other.engine.ratio': 0.25,
      'other.engine.big': 12345678901234567890n,
    },
    'current-snapshot-id': base + BigInt(n - 1) * 7919n,
    refs: { main: { 'snapshot-id': base + BigInt(n - 1) * 7919n, type: 'branch' } },
    snapshots,
    'snapshot-log': snapshots.map((s) => ({
      'timestamp-ms': s['timestamp-ms'],
      'snapshot-id': s['snapshot-id'],
    })),
    'metadata-log': Array.from({ length: 100 }, (_, i) => ({
      'timestamp-ms': 1_764_000_000_000n + BigInt(i),
      'metadata-file': `s3://bucket/product-analytics/analytics/pa_events/metadata/${String(i).padStart(5, '0')}-x.metadata.json`,
    })),
    statistics: [],
    'partition-statistics': [],
    'other-engine-ids': [1, 2, 3, 2.5, 1e3],
  }
}

// ---- run ----------------------------------------------------------------------------------------

const doc = metadata(SNAPSHOTS)
const text = stringifyHand(doc, 2)
const sides = {
  parse: { hand: () => parseJson(text), native: () => parseNative(text) },
  stringify: { hand: () => stringifyHand(doc, 2), native: () => stringifyJson(doc, 2) },
}

// Correctness first: the same values and the same text, or the figures mean nothing.
if (!isDeepStrictEqual(parseJson(text), parseNative(text)))
  throw new Error('native parse differs from hand parse')
if (!isDeepStrictEqual(parseNative(text), doc))
  throw new Error('native parse does not round-trip the document')
if (stringifyJson(doc, 2) !== text) throw new Error('native stringify differs from hand stringify')
if (stringifyHand(doc) !== stringifyJson(doc)) throw new Error('native compact stringify differs')

function opsPerSecond(fn: () => unknown, ms = 400): number {
  let n = 0
  const start = performance.now()
  let now = start
  while (now - start < ms) {
    fn()
    n++
    now = performance.now()
  }
  return (n * 1000) / (now - start)
}

for (const f of [sides.parse.hand, sides.parse.native, sides.stringify.hand, sides.stringify.native])
  opsPerSecond(f, 200)
const best: Record<string, number> = {}
for (let r = 0; r < ROUNDS; r++)
  for (const [op, pair] of Object.entries(sides))
    for (const [who, fn] of Object.entries(pair))
      best[`${op} ${who}`] = Math.max(best[`${op} ${who}`] ?? 0, opsPerSecond(fn))

console.log(
  `table metadata, ${SNAPSHOTS} snapshots, ${(text.length / 1024).toFixed(0)} KiB; Node ${process.version}; best of ${ROUNDS}`,
)
for (const op of Object.keys(sides)) {
  const hand = best[`${op} hand`]!
  const native = best[`${op} native`]!
  console.log(
    `${op.padEnd(9)} hand ${hand.toFixed(0).padStart(6)} ops/s   native ${native.toFixed(0).padStart(6)} ops/s   native/hand ${(native / hand).toFixed(2)}x`,
  )
}
