/**
 * Cuts a string to at most `max` UTF-16 code units without splitting a surrogate pair: a cut that
 * would keep only the high half of an emoji drops the whole character, so the text stays valid
 * Unicode (a lone surrogate becomes U+FFFD, or an encoding error, in Parquet's UTF-8).
 */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s
  const last = s.charCodeAt(max - 1)
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max)
}
