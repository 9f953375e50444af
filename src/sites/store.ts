/**
 * Sites in the same Postgres (or PGlite) as the catalog, table `floe_sites` (catalog/sites.sql).
 *
 * `get` is what every /api/send hits, so it is cached (positive and negative answers, bounded LRU);
 * every change made through this store clears the entry and then awaits the change listeners (the
 * CORS allowlist), so once a PUT/DELETE has answered, the receiver already acts on it.
 *
 * Other Floe processes on the same Postgres (replicas behind a load balancer) hear of the change
 * through `NOTIFY floe_sites, '<site id>'`, sent after the write: each one drops its cache entry and
 * runs its listeners, so they act on it within milliseconds too. If the LISTEN connection breaks,
 * everything is re-read once it is back (notifications sent meanwhile are lost); the cache TTL
 * (CACHE_TTL_MS) bounds staleness even then. The embedded PGlite has no other processes.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { LRUCache } from 'lru-cache'
import type { SqlClient } from '../storage/sql.ts'
import { SiteNotFoundError, ValidationError } from '../errors.ts'
import { normalizeDomain, type Site, type SiteInput } from './site.ts'

export const CACHE_TTL_MS = 60_000
const DDL = readFileSync(new URL('../../catalog/sites.sql', import.meta.url), 'utf8')

interface SiteRecord {
  site_id: string
  name: string
  domains: string[]
  allow_subdomains: boolean
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
}

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
  return out
}

export class SiteStore {
  readonly #sql: Pick<SqlClient, 'query'>
  readonly #cache = new LRUCache<string, { site: Site | null }>({ max: 10_000, ttl: CACHE_TTL_MS })
  readonly #listeners: SiteChangeListener[] = []
  readonly #onError: (err: unknown) => void
  readonly #instance = randomUUID()

  private constructor(sql: Pick<SqlClient, 'query'>, options: SiteStoreOptions) {
    this.#sql = sql
    this.#onError = options.onError ?? (() => {})
  }

  /**
   * Creates the table if needed (idempotent) and returns the store, subscribed to other processes'
   * site changes where the client can LISTEN.
   */
  static async open(
    sql: Pick<SqlClient, 'query' | 'listen'>,
    options: SiteStoreOptions = {},
  ): Promise<SiteStore> {
    // One statement per query: PGlite's extended protocol takes a single statement.
    for (const stmt of DDL.replace(/--.*$/gm, '').split(';')) if (stmt.trim()) await sql.query(stmt)
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
    const hit = this.#cache.get(key)
    if (hit) return hit.site
    if (!UUID.test(key)) return null
    const { rows } = await this.#sql.query<SiteRecord>('SELECT * FROM floe_sites WHERE site_id = $1', [key])
    const site = rows[0] ? toSite(rows[0]) : null
    this.#cache.set(key, { site })
    return site
  }

  async list(opts: { includeDeleted?: boolean } = {}): Promise<Site[]> {
    const where = opts.includeDeleted ? '' : 'WHERE deleted_at IS NULL'
    const { rows } = await this.#sql.query<SiteRecord>(
      `SELECT * FROM floe_sites ${where} ORDER BY created_at, site_id`,
    )
    return rows.map(toSite)
  }

  /** `id` may be given to keep an existing Umami website id (trackers keep working unchanged). */
  async create(input: SiteInput, id: string = randomUUID()): Promise<Site> {
    const v = checkInput(input, false)
    if (!UUID.test(id)) throw new ValidationError('id', 'must be a UUID')
    id = id.toLowerCase()
    if ((await this.#sql.query('SELECT 1 FROM floe_sites WHERE site_id = $1', [id])).rows.length > 0)
      throw new ValidationError('id', `site ${id} already exists (ids of deleted sites are not reused)`)
    const { rows } = await this.#sql.query<SiteRecord>(
      `INSERT INTO floe_sites (site_id, name, domains, allow_subdomains) VALUES ($1, $2, $3, $4) RETURNING *`,
      [id, v.name, v.domains, v.allowSubdomains ?? false],
    )
    return this.#changed(toSite(rows[0]))
  }

  async update(id: string, input: Partial<SiteInput>): Promise<Site> {
    const v = checkInput(input, true)
    if (!UUID.test(id)) throw new SiteNotFoundError(id)
    const { rows } = await this.#sql.query<SiteRecord>(
      `UPDATE floe_sites SET name = COALESCE($2, name), domains = COALESCE($3, domains),
         allow_subdomains = COALESCE($4, allow_subdomains), updated_at = now()
       WHERE site_id = $1 AND deleted_at IS NULL RETURNING *`,
      [id, v.name ?? null, v.domains ?? null, v.allowSubdomains ?? null],
    )
    if (!rows[0]) throw new SiteNotFoundError(id)
    return this.#changed(toSite(rows[0]))
  }

  /** Soft delete: the row stays (the id is never reused), events for it get 400 from now on. */
  async softDelete(id: string): Promise<Site> {
    if (!UUID.test(id)) throw new SiteNotFoundError(id)
    const { rows } = await this.#sql.query<SiteRecord>(
      `UPDATE floe_sites SET deleted_at = now(), updated_at = now() WHERE site_id = $1 AND deleted_at IS NULL RETURNING *`,
      [id],
    )
    if (!rows[0]) throw new SiteNotFoundError(id)
    return this.#changed(toSite(rows[0]))
  }

  /** Cheap readiness probe of the database behind the store. */
  async ping(): Promise<void> {
    await this.#sql.query('SELECT 1 FROM floe_sites LIMIT 1')
  }

  async #changed(site: Site): Promise<Site> {
    this.#cache.delete(site.id)
    for (const l of this.#listeners) await l(site)
    // After the local listeners: this process acts on the change before any other hears of it.
    // The payload names this store, so its own notification, which comes back too, is skipped.
    await this.#sql.query('SELECT pg_notify($1, $2)', [SITES_CHANNEL, `${this.#instance} ${site.id}`])
    return site
  }

  /** Another process changed site `id` (null: anything may have changed). */
  #heard(id: string | null): void {
    void (async () => {
      if (id === null) this.#cache.clear()
      else this.#cache.delete(id.toLowerCase())
      const site = id === null ? null : await this.get(id)
      for (const l of this.#listeners) await l(site)
    })().catch(this.#onError)
  }
}
