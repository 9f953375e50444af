/**
 * Shared by the stores in this folder (sites, keys). Errors that mean "the database could not be reached or went away", not "this statement is wrong":
 * socket errors, node-postgres's own connection errors (no code), and SQLSTATE classes 08
 * (connection exception), 57P (shutdown, e.g. terminated by the administrator) and 53 (resources).
 */
export function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code))
    return code.startsWith('08') || code.startsWith('57P') || code.startsWith('53') || code === '3D000'
  if (typeof code === 'string' && code.startsWith('E')) return true // ECONNREFUSED, ETIMEDOUT, …
  const message = (err as Error | undefined)?.message ?? ''
  return /connection|timeout|terminat/i.test(message)
}
