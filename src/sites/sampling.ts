/**
 * Per-site sampling rules (catalog/site-sampling.sql), beside the sites; the decisions themselves
 * are pure (enrich/sampling.ts). `get` is on every `/v1/events` request, so answers are cached
 * briefly; a change announces itself with `NOTIFY floe_site_sampling` and every process on the
 * same Postgres clears its cache on hearing it.
 */
import { readFileSync } from 'node:fs'
import { LRUCache } from 'lru-cache'
import type { SqlClient } from '../storage/sql.ts'
import { applyDdl } from '../storage/ddl.ts'
import type { SamplingRule } from '../enrich/sampling.ts'
import { SiteNotFoundError, SiteStoreUnavailableError } from '../errors.ts'
import { isUnreachable } from './unreachable.ts'

const DDL = readFileSync(new URL('../../catalog/site-sampling.sql', import.meta.url), 'utf8')
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const SAMPLING_CHANNEL = 'floe_site_sampling'

interface RuleRecord {
  event_type: string
  mode: SamplingRule['mode']
  rate: number | string
  window_seconds: number | null
}

export class SamplingStore {
  readonly #sql: Pick<SqlClient, 'query' | 'transaction' | 'dialect'>
  readonly #cache: LRUCache<string, { rules: SamplingRule[] }>

  private constructor(sql: Pick<SqlClient, 'query' | 'transaction' | 'dialect'>, ttlMs: number) {
    this.#sql = sql
    this.#cache = new LRUCache({ max: 10_000, ttl: ttlMs })
  }

  static async open(
    sql: Pick<SqlClient, 'query' | 'transaction' | 'listen' | 'dialect'>,
    options: { cacheTtlMs?: number } = {},
  ): Promise<SamplingStore> {
    await applyDdl(sql, DDL)
    const store = new SamplingStore(sql, options.cacheTtlMs ?? 30_000)
    await sql.listen?.(SAMPLING_CHANNEL, {
      notify: () => store.#cache.clear(),
      resync: () => store.#cache.clear(),
    })
    return store
  }

  async #run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (isUnreachable(err)) throw new SiteStoreUnavailableError(err)
      throw err
    }
  }

  /** The site's rules (empty = no sampling). */
  async get(siteId: string): Promise<SamplingRule[]> {
    const id = siteId.toLowerCase()
    const hit = this.#cache.get(id)
    if (hit) return hit.rules
    if (!UUID.test(id)) return []
    const { rows } = await this.#run(() =>
      this.#sql.query<RuleRecord>(
        'SELECT event_type, mode, rate, window_seconds FROM floe_site_sampling WHERE site_id = $1 ORDER BY event_type',
        [id],
      ),
    )
    const rules = rows.map((r) => ({
      eventType: r.event_type,
      mode: r.mode,
      rate: Number(r.rate),
      windowSeconds: r.window_seconds,
    }))
    this.#cache.set(id, { rules })
    return rules
  }

  /** Replaces the site's rules (already validated by the route's schema). */
  async set(siteId: string, rules: readonly SamplingRule[]): Promise<SamplingRule[]> {
    if (!UUID.test(siteId)) throw new SiteNotFoundError(siteId)
    const id = siteId.toLowerCase()
    await this.#run(() =>
      this.#sql.transaction(async (tx) => {
        const live = await tx.query('SELECT 1 FROM floe_sites WHERE site_id = $1 AND deleted_at IS NULL', [
          id,
        ])
        if (live.rows.length === 0) throw new SiteNotFoundError(siteId)
        await tx.query('DELETE FROM floe_site_sampling WHERE site_id = $1', [id])
        for (const r of rules)
          await tx.query(
            'INSERT INTO floe_site_sampling (site_id, event_type, mode, rate, window_seconds) VALUES ($1, $2, $3, $4, $5)',
            [id, r.eventType, r.mode, r.rate, r.windowSeconds],
          )
      }),
    )
    this.#cache.clear()
    const notify = this.#sql.dialect.notify
    if (notify) await this.#run(() => this.#sql.query(notify, [SAMPLING_CHANNEL, id]))
    return this.get(id)
  }
}
