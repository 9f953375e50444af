/**
 * Which sessions this process has already written a `pa_sessions` row for.
 *
 * Rule: pa_sessions is append-only and read through dev/sessions-view.sql: attributes from the
 * latest row, session_data merged per key over all rows (so a row with no data, or with only the
 * keys this process knows, never hides another process's keys). A row is emitted
 *  - for the first event of a session not in this cache (a new session, or one evicted/forgotten
 *    since, e.g. after a restart; a repeated row then is harmless: same attributes, later updated_at),
 *  - for every `identify` (distinct id and session data change), with session_data merged over
 *    what this cache remembers of earlier identifies, and created_at kept from the cache.
 * created_at is the first event time this process saw for the session.
 *
 * The entry is recorded when the rows are built (so concurrent requests of one new session emit one
 * row) and rolled back if the sink refuses the rows (503), so a refused session row is re-emitted.
 */
import { LRUCache } from 'lru-cache'

export interface SessionMemo {
  createdAt: number
  distinctId: string | null
  sessionData: Record<string, string> | null
}

export class SessionCache {
  readonly #lru: LRUCache<string, SessionMemo>

  constructor(max = 100_000) {
    this.#lru = new LRUCache({ max })
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
