/**
 * A nesting-depth limit for JSON text, checked by a flat scan before any parser runs.
 *
 * Why a pre-scan: Floe's BigInt-safe parser (json.ts) descends one call per nesting level, so a
 * body of 100,000 `[` overflowed the stack (a 500 from an unauthenticated request). The scan is
 * one loop over the characters (strings skipped, escapes honoured), costs a fraction of the parse,
 * and holds whatever does the parsing behind it, so the parser's own recursion is bounded by
 * MAX_JSON_DEPTH. Iceberg metadata and REST payloads nest fewer than 20 levels.
 */
import { JsonSyntaxError } from './json-error.ts'

export const MAX_JSON_DEPTH = 256

/** Throws JsonSyntaxError when objects/arrays in `text` nest deeper than `max`. */
export function assertJsonDepth(text: string, max = MAX_JSON_DEPTH): void {
  let depth = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 34) {
      // Skip a string literal: `"` … unescaped `"`.
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i)
        if (d === 92) i++
        else if (d === 34) break
      }
    } else if (c === 91 || c === 123) {
      if (++depth > max) throw new JsonSyntaxError(`nesting deeper than ${max} levels at offset ${i}`)
    } else if (c === 93 || c === 125) depth--
  }
}
