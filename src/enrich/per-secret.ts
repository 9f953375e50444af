/**
 * Something derived from a secret (an HMAC key, a memo of values computed with it), made once per
 * secret. A process has one APP_SECRET; tests use a few. The map is cleared past 16 secrets so a
 * caller that cycles through many cannot grow it without bound.
 */
export function perSecret<T>(make: (secret: string) => T): (secret: string) => T {
  const bySecret = new Map<string, T>()
  return (secret) => {
    let value = bySecret.get(secret)
    if (value === undefined) {
      if (bySecret.size > 16) bySecret.clear()
      value = make(secret)
      bySecret.set(secret, value)
    }
    return value
  }
}
