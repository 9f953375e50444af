/**
 * Scaling sampled rows back (issue 13): a kept `pa_events` row carries the rate it was kept at in
 * `sample_rate` (null = 1, not sampled), so it stands for `1 / rate` rows. These are the SQL pieces
 * every Umami count is built from; the estimator is described in docs/reporting.md ("Sampled data").
 * On unsampled data every weight is exactly 1.0, so the rounded sums equal the plain counts.
 */

/** A row's sampling rate (the query layer reads `sample_rate` as NULL on tables without it). */
export const RATE = 'coalesce(sample_rate, 1)'

/** A row's weight: the number of rows it stands for. */
export const WEIGHT = `(1.0 / ${RATE})`

/** A weighted sum as an answer: rounded to an integer, 0 when there are no rows. */
export const total = (sum: string): string => `round(coalesce(${sum}, 0))::BIGINT`

/**
 * Window columns that let one aggregate count each distinct `key` once, weighted by the inverse of
 * the largest rate among its rows (`rate`) within `partition` (the answer's own grouping):
 * `<alias>_w` is that weight, `<alias>_n` numbers the key's rows so only the first is summed.
 * The largest rate is the key's chance of being seen at all when sampling keeps whole visitors
 * (a visitor under the 0.5 rule with a hash below 0.1 is also kept by the 0.1 rule).
 */
export function distinctWindows(
  key: string,
  alias: string,
  partition: readonly string[],
  rate: string,
): string {
  const by = [...partition, key].join(', ')
  return `1.0 / max(${rate}) OVER (PARTITION BY ${by}) AS ${alias}_w,
          row_number() OVER (PARTITION BY ${by}) AS ${alias}_n`
}

/** The weighted distinct count of `key` over rows carrying `distinctWindows(key, alias, …)`. */
export function distinctTotal(key: string, alias: string): string {
  return total(`sum(${alias}_w) FILTER (WHERE ${alias}_n = 1 AND ${key} IS NOT NULL)`)
}
