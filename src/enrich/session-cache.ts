/**
 * Which sessions this process has already written a `pa_sessions` row for.
 *
 * Rule: pa_sessions is append-only and read through dev/sessions-view.sql: attributes from the
 * latest row, session_data merged per key over all rows (so a row with no data, or with only the
 * keys this process knows, never hides another process's keys). A row is emitted
 *  - for the first event of a session not in this cache (a new session, or one evicted/forgotten
 *    since, e.g. after a restart; a repeated row then is harmless: same attributes, later updated_at),
 *  - for every `identify` (distinct id and session data change), holding only the keys that call
 *    sent (the view merges per key, so a row never repeats earlier keys: storage grows with what
 *    is sent, not quadratically), and created_at kept from the cache.
 * The cache remembers the session's data keys (not values) so the per-session key limit
 * (SESSION_DATA_MAX_KEYS) holds across calls; it is weighed by their length so a few sessions
 * with long keys cannot grow it without bound (an evicted session starts counting again).
 * created_at is the first event time this process saw for the session.
 *
 * The entry is recorded when the rows are built (so concurrent requests of one new session emit one
 * row) and rolled back if the sink refuses the rows (503), so a refused session row is re-emitted.
 */
import { LRUCache } from 'lru-cache'

export interface SessionMemo {
  createdAt: number
  distinctId: string | null
  /** Session data keys sent by earlier identifies of this session (this process). */
  dataKeys: ReadonlySet<string> | null
}

/** Total weight of the cache: entries cost 64 plus the characters of their data keys. */
const MAX_WEIGHT = 64 * 1024 * 1024

function weight(memo: SessionMemo): number {
  let n = 64
  if (memo.dataKeys) for (const k of memo.dataKeys) n += k.length
  return n
}

export class SessionCache {
  readonly #lru: LRUCache<string, SessionMemo>

  constructor(max = 100_000) {
    this.#lru = new LRUCache({ max, maxSize: MAX_WEIGHT, sizeCalculation: weight })
  }

  get(sessionId: string): SessionMemo | undefined {
    return this.#lru.get(sessionId)
  }

  /** Sets the memo and returns an undo that restores the previous state (if still ours). */
  set(sessionId: string, memo: SessionMemo): () => void {
    const previous = this.#lru.get(sessionId)
    this.#lru.set(sessionId, memo)
    return () => {
      if (this.#lru.peek(sessionId) !== memo) return
      if (previous) this.#lru.set(sessionId, previous)
      else this.#lru.delete(sessionId)
    }
  }

  get size(): number {
    return this.#lru.size
  }
}
