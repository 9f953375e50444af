/**
 * A site: the Umami website a tracker reports to. `domains` are host names (lower case, no scheme
 * or port); an Origin is allowed by CORS when its host equals one of them, or (with
 * `allowSubdomains`) ends with `.` + one of them.
 */
import { ValidationError } from '../errors.ts'

export interface Site {
  id: string
  name: string
  domains: string[]
  allowSubdomains: boolean
  /** Days of rows the site keeps (docs/retention.md); null = FLOE_RETENTION_DEFAULT_DAYS. */
  retentionDays: number | null
  /** ISO 8601 timestamps. */
  createdAt: string
  updatedAt: string
  deletedAt: string | null
}

export interface SiteInput {
  name: string
  domains: string[]
  allowSubdomains?: boolean
  retentionDays?: number | null
}

const HOST =
  /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/

/**
 * Normalises one allowed-domain entry: accepts `example.com`, `Example.COM`, `https://example.com/`
 * or `example.com:8080` and keeps the bare lower-case host; IPv6 literals keep their brackets.
 */
export function normalizeDomain(entry: string, field = 'domains'): string {
  const trimmed = entry.trim().toLowerCase()
  let host: string
  try {
    host = new URL(trimmed.includes('://') ? trimmed : `http://${trimmed}`).hostname
  } catch {
    throw new ValidationError(field, `"${entry}" is not a host name`)
  }
  if (!(HOST.test(host) || /^\[[0-9a-f:.]+\]$/.test(host)))
    throw new ValidationError(field, `"${entry}" is not a host name`)
  return host
}

/** Does `origin` (an Origin header value) belong to the site? */
export function originMatches(originHost: string, site: Pick<Site, 'domains' | 'allowSubdomains'>): boolean {
  for (const d of site.domains) {
    if (originHost === d) return true
    if (site.allowSubdomains && originHost.endsWith(`.${d}`)) return true
  }
  return false
}

/** The host of an Origin header (`https://a.example.com:8443` → `a.example.com`), or null. */
export function originHost(origin: string | undefined): string | null {
  if (!origin || origin === 'null') return null
  try {
    const u = new URL(origin)
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.hostname : null
  } catch {
    return null
  }
}

/** The ready-to-paste tracker tag for a site, served by Floe's public URL. */
export function scriptSnippet(publicUrl: string, siteId: string): string {
  return `<script defer src="${publicUrl}/script.js" data-website-id="${siteId}" data-host-url="${publicUrl}"></script>`
}
