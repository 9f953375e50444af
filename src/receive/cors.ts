/**
 * CORS for the collect endpoints: an Origin is granted only if its host matches a live site's
 * allowed domains (subdomains per site). The allowlist is rebuilt from the site store on every site
 * change (awaited by the store before the admin call answers) and at start. `CORS_ALLOW_ALL=true`
 * restores Umami's `Access-Control-Allow-Origin: *`.
 */
import { originHost, type Site } from '../sites/site.ts'

export class CorsAllowlist {
  #exact = new Set<string>()
  #suffixes: string[] = []

  /** Replaces the allowlist with the live sites' domains. */
  rebuild(sites: readonly Site[]): void {
    const exact = new Set<string>()
    const suffixes: string[] = []
    for (const s of sites) {
      if (s.deletedAt !== null) continue
      for (const d of s.domains) {
        exact.add(d)
        if (s.allowSubdomains) suffixes.push(`.${d}`)
      }
    }
    this.#exact = exact
    this.#suffixes = suffixes
  }

  allows(origin: string | undefined): boolean {
    const host = originHost(origin)
    if (host === null) return false
    return this.#exact.has(host) || this.#suffixes.some((s) => host.endsWith(s))
  }
}
