/**
 * Routes and URL state. Everything a view shows is in its URL (`/dashboard/sites/<id>?range=7d&
 * country=DE`), so a view can be shared or bookmarked and Back undoes a click-to-filter.
 */
import { useEffect, useState } from 'preact/hooks'

export const BASE = '/dashboard/'

export type Route =
  | { page: 'home' }
  | { page: 'site'; siteId: string }
  | { page: 'ops' }
  | { page: 'share' }
  | { page: 'notfound' }

export function parseRoute(pathname: string): Route {
  const rest = pathname.startsWith(BASE)
    ? pathname.slice(BASE.length)
    : pathname.replace(/^\/dashboard\/?/, '')
  const parts = rest.split('/').filter(Boolean).map(decodeURIComponent)
  if (parts.length === 0) return { page: 'home' }
  if (parts[0] === 'sites' && parts.length === 2) return { page: 'site', siteId: parts[1] }
  if (parts[0] === 'ops' && parts.length === 1) return { page: 'ops' }
  if (parts[0] === 'share' && parts.length === 1) return { page: 'share' }
  return { page: 'notfound' }
}

const listeners = new Set<() => void>()
const notify = () => listeners.forEach((l) => l())
addEventListener('popstate', notify)

export function navigate(url: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', url)
  else history.pushState(null, '', url)
  notify()
}

/** Re-renders the caller whenever the URL changes (navigate, Back, Forward). */
export function useLocation(): { pathname: string; search: string } {
  const [, tick] = useState(0)
  useEffect(() => {
    const l = () => tick((n) => n + 1)
    listeners.add(l)
    return () => void listeners.delete(l)
  }, [])
  return { pathname: location.pathname, search: location.search }
}

/** Sets (string) or removes (null) query parameters, as a new history entry. */
export function patchQuery(patch: Record<string, string | null>, options: { replace?: boolean } = {}): void {
  const q = new URLSearchParams(location.search)
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || v === '') q.delete(k)
    else q.set(k, v)
  }
  const s = q.toString()
  navigate(`${location.pathname}${s ? `?${s}` : ''}`, options)
}

/** Same-origin link that navigates without reloading (modifier clicks keep the browser's behaviour). */
export function onLinkClick(e: MouseEvent): void {
  const a = (e.currentTarget as HTMLAnchorElement | null) ?? null
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
  e.preventDefault()
  navigate(a.getAttribute('href') ?? BASE)
}
