/**
 * Who the dashboard signs in as. The token lives in sessionStorage (one tab, gone when it closes),
 * never in the URL except for a share link's fragment, which browsers do not send to servers.
 */
export type AuthKind = 'admin' | 'read' | 'share'

export interface Auth {
  kind: AuthKind
  token: string
}

const KEY = 'floe.auth'

/** Admin tokens are free-form; site keys carry their kind in the prefix (`floe_read_…`). */
export function kindOf(token: string): AuthKind {
  if (token.startsWith('floe_share_')) return 'share'
  if (token.startsWith('floe_read_')) return 'read'
  return 'admin'
}

export function loadAuth(): Auth | null {
  try {
    const raw = sessionStorage.getItem(KEY)
    if (!raw) return null
    const parsed = JSON.parse(raw) as Partial<Auth>
    if (typeof parsed.token !== 'string' || !parsed.token) return null
    const kind = parsed.kind === 'share' ? 'share' : kindOf(parsed.token)
    return { token: parsed.token, kind }
  } catch {
    return null
  }
}

export function saveAuth(auth: Auth | null): void {
  if (auth) sessionStorage.setItem(KEY, JSON.stringify(auth))
  else sessionStorage.removeItem(KEY)
}

/** The header Floe reads the token from (src/receive/site-auth.ts accepts each of these). */
export function authHeaders(auth: Auth): Record<string, string> {
  return auth.kind === 'share'
    ? { 'x-umami-share-token': auth.token }
    : { authorization: `Bearer ${auth.token}` }
}
