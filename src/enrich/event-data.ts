/**
 * Custom `data` (event data, identify session data) flattened into the `map<string,string>` column
 * with Umami's key naming (Umami's `src/lib/data.ts` flattenJSON): nested objects join keys with
 * `.` at any depth, arrays and null are JSON text, booleans `true`/`false`, numbers their shortest
 * decimal text (Umami's string_value would be `42.0000`; the map keeps the exact number), strings
 * matching Umami's DATETIME_REGEX become ISO timestamps. An empty object gives no entries.
 *
 * Umami enforces no limits and fails with a 500 on its varchar(500) columns; Floe truncates keys and
 * values at 500 characters and rejects (400, naming the field) more than MAX_DATA_KEYS entries or
 * nesting deeper than MAX_DATA_DEPTH, so hostile bodies cannot blow the stack or the row size.
 */
import { ValidationError } from '../errors.ts'
import { truncate } from './truncate.ts'

export const DATA_VALUE_LENGTH = 500
export const MAX_DATA_KEYS = 200
export const MAX_DATA_DEPTH = 16
const DATETIME_REGEX = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}(Z|\+\d{2}:\d{2})?)?$/

function leaf(v: unknown, field: string): string {
  if (typeof v === 'string') {
    if (DATETIME_REGEX.test(v)) {
      // A value without a zone is read as UTC, as Umami's (UTC) server reads it; `new Date` alone
      // would use this host's zone.
      const d = new Date(/(Z|[+-]\d{2}:\d{2})$/.test(v) ? v : `${v}Z`)
      if (!Number.isNaN(d.getTime())) return d.toISOString()
    }
    return v
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    // A pathologically deep array overflows the stack in JSON.stringify.
    throw new ValidationError(field, 'holds an array nested too deeply')
  }
}

export function flattenData(
  data: Record<string, unknown> | undefined,
  field: string,
): Record<string, string> | null {
  if (data === undefined) return null
  // No prototype: a data key named `__proto__` (Umami accepts any key) must become an entry,
  // not set the object's prototype.
  const out: Record<string, string> = Object.create(null) as Record<string, string>
  let count = 0
  const walk = (obj: Record<string, unknown>, prefix: string, depth: number) => {
    if (depth > MAX_DATA_DEPTH)
      throw new ValidationError(field, `is nested deeper than ${MAX_DATA_DEPTH} levels`)
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        walk(v as Record<string, unknown>, key, depth + 1)
        continue
      }
      if (++count > MAX_DATA_KEYS)
        throw new ValidationError(field, `has more than ${MAX_DATA_KEYS} properties`)
      out[truncate(key, DATA_VALUE_LENGTH)] = truncate(leaf(v, field), DATA_VALUE_LENGTH)
    }
  }
  walk(data, '', 1)
  return count === 0 ? null : out
}
