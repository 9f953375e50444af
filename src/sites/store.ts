/**
 * Sites in the same Postgres (or embedded SQLite/PGlite) as the catalog, table `floe_sites` (catalog/sites.sql).
 *
 * `get` is what every /api/send hits, so it is cached (positive and negative answers, bounded LRU);
 * every change made through this store clears the entry and then awaits the change listeners (the
 * CORS allowlist), so once a PUT/DELETE has answered, the receiver already acts on it.
 *
 * Other Floe processes on the same Postgres (replicas behind a load balancer) hear of the change
 * through `NOTIFY floe_sites, '<site id>'`, sent after the write: each one drops its cache entry and
 * runs its listeners, so they act on it within milliseconds too. If the LISTEN connection breaks,
 * everything is re-read once it is back (notifications sent meanwhile are lost); the cache TTL
 * (FLOE_SITE_CACHE_TTL_SECONDS) bounds staleness even then. The embedded databases have no other processes.
 *
 * Database outages: ingest must not depend on the database answering right now. An entry older than
 * the TTL is still answered from the last good copy (stale-while-revalidate, lru-cache's `fetch`
 * with `allowStale`), and one refresh runs in the background; a refresh that fails keeps the old
 * copy. Only a site never seen before (or evicted) needs the database: while it is away that lookup
 * fails with SiteStoreUnavailableError (503 + Retry-After), as do the admin API's reads and writes.
 * `/metrics` shows it: `floe_sites_db_up` and `floe_site_lookups_stale_total`.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { LRUCache } from 'lru-cache'
import type { SqlClient } from '../storage/sql.ts'
import { applyDdl } from '../storage/ddl.ts'
import { SiteNotFoundError, SiteStoreUnavailableError, ValidationError } from '../errors.ts'
import { metrics } from '../observe/metrics.ts'
import { normalizeDomain, type Site, type SiteInput } from './site.ts'
import { isUnreachable } from './unreachable.ts'

/** Default of FLOE_SITE_CACHE_TTL_SECONDS, in ms. */
export const CACHE_TTL_MS = 60_000
const DDL = readFileSync(new URL('../../catalog/sites.sql', import.meta.url), 'utf8')

interface SiteRecord {
  site_id: string
  name: string
  domains: string[]
  allow_subdomains: boolean
  retention_days?: number | null
  created_at: Date | string
  updated_at: Date | string
  deleted_at: Date | string | null
}

const iso = (v: Date | string) => new Date(v).toISOString()

function toSite(r: SiteRecord): Site {
  return {
    id: r.site_id,
    name: r.name,
    domains: r.domains,
    allowSubdomains: r.allow_subdomains,
    retentionDays: r.retention_days ?? null,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    deletedAt: r.deleted_at === null ? null : iso(r.deleted_at),
  }
}

/** `site` is the changed site, or null when any site may have changed (after a reconnect). */
export type SiteChangeListener = (site: Site | null) => void | Promise<void>

/** The Postgres channel site changes are announced on. */
export const SITES_CHANNEL = 'floe_sites'

export interface SiteStoreOptions {
  /** Where failures of listeners run for another process's change go (default: ignored). */
  onError?: (err: unknown) => void
  /** How long a cached answer counts as fresh (FLOE_SITE_CACHE_TTL_SECONDS); default CACHE_TTL_MS. */
  cacheTtlMs?: number
}

/** Longest per-site retention (100 years): beyond it, null (keep forever) says what is meant. */
export const MAX_RETENTION_DAYS = 36_500

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function checkInput(input: Partial<SiteInput>, partial: boolean): Partial<SiteInput> {
  const out: Partial<SiteInput> = {}
  if (input.name !== undefined || !partial) {
    if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 200)
      throw new ValidationError('name', 'must be a non-empty string of at most 200 characters')
    out.name = input.name.trim()
  }
  if (input.domains !== undefined || !partial) {
    if (!Array.isArray(input.domains) || input.domains.length > 100)
      throw new ValidationError('domains', 'must be an array of at most 100 host names')
    out.domains = [...new Set(input.domains.map((d) => normalizeDomain(String(d))))]
  }
  if (input.allowSubdomains !== undefined) out.allowSubdomains = Boolean(input.allowSubdomains)
  if (input.retentionDays !== undefined) {
    const d = input.retentionDays
    if (d !== null && !(Number.isInteger(d) && d >= 1 && d <= MAX_RETENTION_DAYS))
      throw new ValidationError(
        'retentionDays',
        `must be null (the default) or a whole number of days from 1 to ${MAX_RETENTION_DAYS}`,
      )
    out.retentionDays = d
  }
  return out
}

export class SiteStore {
  readonly #sql: Pick<SqlClient, 'query' | 'dialect'>
  readonly #cache: LRUCache<string, { site: Site | null }>
  readonly #listeners: SiteChangeListener[] = []
  readonly #onError: (err: unknown) => void
  readonly #instance = randomUUID()

  private constructor(sql: Pick<SqlClient, 'query' | 'dialect'>, options: SiteStoreOptions) {
    this.#sql = sql
    this.#onError = options.onError ?? (() => {})
    this.#cache = new LRUCache<string, { site: Site | null }>({
      max: 10_000,
      ttl: options.cacheTtlMs ?? CACHE_TTL_MS,
      // Past the TTL: answer the old copy at once and refresh in the background; a refresh that
      // fails (database away) keeps the old copy for the next request to try again.
      allowStale: true,
      noDeleteOnFetchRejection: true,
      allowStaleOnFetchRejection: true,
      fetchMethod: async (key) => ({ site: await this.#load(key) }),
    })
  }

  /** The site as the database has it now (no cache). */
  async #load(key: string): Promise<Site | null> {
    const { rows } = await this.#query<SiteRecord>('SELECT * FROM floe_sites WHERE site_id = $1', [key])
    return rows[0] ? toSite(rows[0]) : null
  }

  /**
   * Every statement goes through here: failures to reach the database become
   * SiteStoreUnavailableError (503), and `floe_sites_db_up` follows the last answer.
   */
  async #query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }> {
    try {
      const res = await this.#sql.query<R>(text, params)
      metrics.sitesDbUp.set(1)
      return res
    } catch (err) {
      if (!isUnreachable(err)) throw err
      metrics.sitesDbUp.set(0)
      throw new SiteStoreUnavailableError(err)
    }
  }

  /**
   * Creates the table if needed (idempotent) and returns the store, subscribed to other processes'
   * site changes where the client can LISTEN.
   */
  static async open(
    sql: Pick<SqlClient, 'query' | 'listen' | 'transaction' | 'dialect'>,
    options: SiteStoreOptions = {},
  ): Promise<SiteStore> {
    await applyDdl(sql, DDL)
    const store = new SiteStore(sql, options)
    await sql.listen?.(SITES_CHANNEL, {
      notify: (payload) => {
        const [from, id] = payload.split(' ')
        if (from !== store.#instance && id) store.#heard(id)
      },
      resync: () => store.#heard(null),
    })
    return store
  }

  onChange(listener: SiteChangeListener): void {
    this.#listeners.push(listener)
  }

  /** The site including soft-deleted ones, or null; cached. */
  async get(id: string): Promise<Site | null> {
    const key = id.toLowerCase()
    if (!UUID.test(key)) return null
    const status: LRUCache.Status<{ site: Site | null }> = {}
    const hit = await this.#cache.fetch(key, { status })
    if (status.returnedStale) metrics.siteLookupsStale.inc()
    // A failed fetch with no old copy to fall back on resolves undefined: the lookup itself failed.
    if (hit === undefined) throw status.fetchError ?? new SiteStoreUnavailableError(undefined)
    return hit.site
  }

  async list(opts: { includeDeleted?: boolean } = {}): Promise<Site[]> {
    const where = opts.includeDeleted ? '' : 'WHERE deleted_at IS NULL'
    const { rows } = await this.#query<SiteRecord>(
      `SELECT * FROM floe_sites ${where} ORDER BY created_at, site_id`,
    )
    return rows.map(toSite)
  }

  /** `id` may be given to keep an existing Umami website id (trackers keep working unchanged). */
  async create(input: SiteInput, id: string = randomUUID()): Promise<Site> {
    const v = checkInput(input, false)
    if (!UUID.test(id)) throw new ValidationError('id', 'must be a UUID')
    id = id.toLowerCase()
    if ((await this.#query('SELECT 1 FROM floe_sites WHERE site_id = $1', [id])).rows.length > 0)
      throw new ValidationError('id', `site ${id} already exists (ids of deleted sites are not reused)`)
    const { rows } = await this.#query<SiteRecord>(
      `INSERT INTO floe_sites (site_id, name, domains, allow_subdomains, retention_days)
       VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [id, v.name, v.domains, v.allowSubdomains ?? false, v.retentionDays ?? null],
    )
    return this.#changed(toSite(rows[0]))
  }

  async update(id: string, input: Partial<SiteInput>): Promise<Site> {
    const v = checkInput(input, true)
    if (!UUID.test(id)) throw new SiteNotFoundError(id)
    const { rows } = await this.#query<SiteRecord>(
      `UPDATE floe_sites SET name = COALESCE($2, name), domains = COALESCE($3, domains),
         allow_subdomains = COALESCE($4, allow_subdomains),
         retention_days = CASE WHEN $5 THEN $6 ELSE retention_days END, updated_at = now()
       WHERE site_id = $1 AND deleted_at IS NULL RETURNING *`,
      [
        id,
        v.name ?? null,
        v.domains ?? null,
        v.allowSubdomains ?? null,
        v.retentionDays !== undefined,
        v.retentionDays ?? null,
      ],
    )
    if (!rows[0]) throw new SiteNotFoundError(id)
    return this.#changed(toSite(rows[0]))
  }

  /** Soft delete: the row stays (the id is never reused), events for it get 400 from now on. */
  async softDelete(id: string): Promise<Site> {
    if (!UUID.test(id)) throw new SiteNotFoundError(id)
    const { rows } = await this.#query<SiteRecord>(
      `UPDATE floe_sites SET deleted_at = now(), updated_at = now() WHERE site_id = $1 AND deleted_at IS NULL RETURNING *`,
      [id],
    )
    if (!rows[0]) throw new SiteNotFoundError(id)
    return this.#changed(toSite(rows[0]))
  }

  /**
   * Every site's own retention setting (deleted sites too: their rows age out like any other).
   * Read from the database at each maintenance run, not from the cache.
   */
  async retentionDays(): Promise<Map<string, number>> {
    const { rows } = await this.#query<{ site_id: string; retention_days: number }>(
      'SELECT site_id, retention_days FROM floe_sites WHERE retention_days IS NOT NULL',
    )
    return new Map(rows.map((r) => [r.site_id, r.retention_days]))
  }

  /** Cheap readiness probe of the database behind the store. */
  async ping(): Promise<void> {
    await this.#query('SELECT 1 FROM floe_sites LIMIT 1')
  }

  async #changed(site: Site): Promise<Site> {
    this.#cache.delete(site.id)
    for (const l of this.#listeners) await l(site)
    // After the local listeners: this process acts on the change before any other hears of it.
    // The payload names this store, so its own notification, which comes back too, is skipped.
    if (this.#sql.dialect.notify)
      await this.#query(this.#sql.dialect.notify, [SITES_CHANNEL, `${this.#instance} ${site.id}`])
    return site
  }

  /** Another process changed site `id` (null: anything may have changed). */
  #heard(id: string | null): void {
    void (async () => {
      const key = id?.toLowerCase()
      try {
        // Listeners (the CORS allowlist) act first, then the new answer becomes visible to sends:
        // once a send sees the change, so does CORS.
        const site = key === undefined ? null : await this.#load(key)
        for (const l of this.#listeners) await l(site)
        if (key === undefined) this.#cache.clear()
        else this.#cache.set(key, { site })
      } catch (err) {
        // Could not re-read: forget the entry so the next lookup asks the database itself.
        if (key === undefined) this.#cache.clear()
        else this.#cache.delete(key)
        throw err
      }
    })().catch(this.#onError)
  }
}
