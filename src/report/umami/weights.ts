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
 * (…, session, visit) rows `g` (`c` rows, `cw` weighted rows, rate `r`, time span) rolled up to
 * sessions: a visit id belongs to one session (Umami's visit id is derived from the session id and
 * the hour), so each visit is one row of `g` and counts `1 / r`; the session counts `1 / sr`.
 */
export const SESSION_ROLLUP = `sum(cw) AS cw, max(r) AS sr, sum(1.0 / r) AS vw, sum(1.0 / r) FILTER (WHERE c = 1) AS bw,
                        sum(floor(epoch(max_time) - epoch(min_time)) / r) AS tw`

/** getWebsiteStats' numbers over sessions rolled up by SESSION_ROLLUP. */
export const VISIT_TOTALS = `${total('sum(cw)')} AS pageviews, ${total('sum(1.0 / sr)')} AS visitors,
  ${total('sum(vw)')} AS visits, ${total('sum(bw)')} AS bounces, ${total('sum(tw)')} AS totaltime`
