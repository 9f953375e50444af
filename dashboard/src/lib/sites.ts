/**
 * The sites the signed-in token may read: the admin gets Floe's sites API (with domains and the
 * tracker snippet); a read key or share link gets Umami's `GET /api/websites`, which lists only its
 * own site.
 */
import type { Api } from './api.ts'
import type { Auth } from './auth.ts'

export interface SiteSummary {
  id: string
  name: string
  domains: string[]
  /** The `<script>` tag to paste (admin only). */
  script?: string
}

interface FloeSite {
  id: string
  name: string
  domains: string[]
  script: string
}

interface UmamiWebsite {
  id: string
  name: string
  domain?: string | null
}

export async function listSites(api: Api, auth: Auth): Promise<SiteSummary[]> {
  if (auth.kind === 'admin') {
    const { sites } = await api.get<{ sites: FloeSite[] }>('/api/sites')
    return sites.map((s) => ({ id: s.id, name: s.name, domains: s.domains, script: s.script }))
  }
  const answer = await api.get<UmamiWebsite[] | { data: UmamiWebsite[] }>('/api/websites')
  const list = Array.isArray(answer) ? answer : answer.data
  return list.map((w) => ({ id: w.id, name: w.name, domains: w.domain ? [w.domain] : [] }))
}

export async function createSite(api: Api, name: string, domains: string[]): Promise<SiteSummary> {
  const s = await api.post<FloeSite>('/api/sites', { name, domains })
  return { id: s.id, name: s.name, domains: s.domains, script: s.script }
}
