/** Number, percentage and duration formatting, in the browser's locale. */
const int = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 })
const pct = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 0 })

export const formatNumber = (n: number): string => int.format(n)
export const formatPercent = (ratio: number): string => pct.format(ratio)

/** `1h 2m`, `3m 4s`, `12s`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  return `${Math.floor(m / 60)}h ${m % 60}m`
}

/** Relative change between two values, or null when there is nothing to compare with. */
export function change(value: number, previous: number): number | null {
  if (!previous) return null
  return (value - previous) / previous
}
