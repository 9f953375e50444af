/**
 * A one-entry memo in front of a pure computation: the last call's inputs and result.
 *
 * Why: the events of one `/api/batch` request share their headers (User-Agent, client IP, cache
 * token) and mostly their site, visitor and hour, so the client info, geo, session id, visit id and
 * cache token of item n are those of item n - 1. The LRUs behind them (client-info.ts, visit.ts,
 * cache-token.ts) still cost a key string, its hash and a list update per event; comparing a few
 * values with `===` costs almost nothing. Bounded by construction (one entry), and only for pure
 * computations, so a hit is always the answer a miss would give.
 */
export class LastCall<R> {
  private keys: readonly unknown[] | undefined
  private value: R | undefined

  /** `compute()` unless `keys` equal (`===`, position by position) those of the last call. */
  get(keys: readonly unknown[], compute: () => R): R {
    const last = this.keys
    if (last !== undefined && last.length === keys.length) {
      let same = true
      for (let i = 0; i < keys.length; i++)
        if (last[i] !== keys[i]) {
          same = false
          break
        }
      if (same) return this.value as R
    }
    const value = compute()
    this.keys = keys
    this.value = value
    return value
  }
}
