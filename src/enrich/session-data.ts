/**
 * Limits on `identify` session data, so one session cannot grow `pa_sessions` (or this process's
 * memory) without bound: at most `maxKeys` distinct keys per session (across its identifies, as
 * far as this process remembers the session) and `maxValueBytes` UTF-8 bytes per value. Past
 * either, the call is refused with 400 naming the field; nothing of it is stored.
 */
import { ValidationError } from '../errors.ts'

export interface SessionDataLimits {
  /** SESSION_DATA_MAX_KEYS */
  maxKeys: number
  /** SESSION_DATA_MAX_VALUE_BYTES */
  maxValueBytes: number
}

export const DEFAULT_SESSION_DATA_LIMITS: SessionDataLimits = { maxKeys: 200, maxValueBytes: 500 }

/** Checks this call's flattened data; returns the session's keys after it (for the session cache). */
export function checkSessionData(
  data: Record<string, string> | null,
  earlier: ReadonlySet<string> | null,
  limits: SessionDataLimits,
): ReadonlySet<string> | null {
  if (data === null) return earlier
  const keys = new Set(earlier)
  for (const [k, v] of Object.entries(data)) {
    const bytes = Buffer.byteLength(v, 'utf8')
    if (bytes > limits.maxValueBytes)
      throw new ValidationError(
        `payload.data.${k.slice(0, 100)}`,
        `value is ${bytes} bytes; at most ${limits.maxValueBytes} (SESSION_DATA_MAX_VALUE_BYTES)`,
      )
    keys.add(k)
  }
  if (keys.size > limits.maxKeys)
    throw new ValidationError(
      'payload.data',
      `the session would hold ${keys.size} data keys; at most ${limits.maxKeys} (SESSION_DATA_MAX_KEYS)`,
    )
  return keys
}
