/**
 * Per-site signing secrets (catalog/site-secrets.sql), beside the sites in the same Postgres (or
 * the embedded database). A site with a secret takes signed `/v1/events` requests (write key + X-Floe-Signature)
 * and browser tokens minted with it (receive/write-auth.ts). Created (or rotated) by the admin API,
 * shown once; removing it turns signing off.
 *
 * `get` is on every `/v1/events` request, so answers are cached briefly (positive and negative);
 * a change announces itself with `NOTIFY floe_site_secrets`, and every process on the same
 * Postgres clears its cache on hearing it, as the key store does.
 *
 * `firstUse(signature, expiresAt)` is the replay guard: one INSERT … ON CONFLICT DO NOTHING into
 * `floe_signature_replays`, so a signature is accepted once across all replicas.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { LRUCache } from 'lru-cache'
import type { SqlClient } from '../storage/sql.ts'
import { applyDdl } from '../storage/ddl.ts'
import { SiteStoreUnavailableError } from '../errors.ts'
import { isUnreachable } from './unreachable.ts'
import { liveSiteId } from './live-site.ts'

const DDL = readFileSync(new URL('../../catalog/site-secrets.sql', import.meta.url), 'utf8')
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The Postgres channel secret changes are announced on. */
export const SECRETS_CHANNEL = 'floe_site_secrets'

export class SecretStore {
  readonly #sql: Pick<SqlClient, 'query' | 'dialect'>
  readonly #cache: LRUCache<string, { secret: string | null }>

  private constructor(sql: Pick<SqlClient, 'query' | 'dialect'>, cacheTtlMs: number) {
    this.#sql = sql
    this.#cache = new LRUCache({ max: 10_000, ttl: cacheTtlMs })
  }

  static async open(
    sql: Pick<SqlClient, 'query' | 'listen' | 'transaction' | 'dialect'>,
    options: { cacheTtlMs?: number } = {},
  ): Promise<SecretStore> {
    await applyDdl(sql, DDL)
    const store = new SecretStore(sql, options.cacheTtlMs ?? 30_000)
    await sql.listen?.(SECRETS_CHANNEL, {
      notify: () => store.#cache.clear(),
      resync: () => store.#cache.clear(),
    })
    return store
  }

  async #query<R>(text: string, params?: unknown[]): Promise<{ rows: R[]; rowCount: number }> {
    try {
      return await this.#sql.query<R>(text, params)
    } catch (err) {
      if (isUnreachable(err)) throw new SiteStoreUnavailableError(err)
      throw err
    }
  }

  /** The site's secret, or null when it has none. */
  async get(siteId: string): Promise<string | null> {
    const id = siteId.toLowerCase()
    const hit = this.#cache.get(id)
    if (hit) return hit.secret
    if (!UUID.test(id)) return null
    const { rows } = await this.#query<{ secret: string }>(
      'SELECT secret FROM floe_site_secrets WHERE site_id = $1',
      [id],
    )
    const secret = rows[0]?.secret ?? null
    this.#cache.set(id, { secret })
    return secret
  }

  /** A new secret for a live site (replacing any old one); the answer is the only place it is shown. */
  async rotate(siteId: string): Promise<{ secret: string; createdAt: string }> {
    const id = await this.#liveSite(siteId)
    const secret = `floe_secret_${randomBytes(32).toString('base64url')}`
    const { rows } = await this.#query<{ created_at: Date | string }>(
      `INSERT INTO floe_site_secrets (site_id, secret) VALUES ($1, $2)
       ON CONFLICT (site_id) DO UPDATE SET secret = excluded.secret, created_at = now()
       RETURNING created_at`,
      [id, secret],
    )
    await this.#changed()
    return { secret, createdAt: new Date(rows[0].created_at).toISOString() }
  }

  /** Removes the site's secret (signing off); true if there was one. */
  async remove(siteId: string): Promise<boolean> {
    const id = await this.#liveSite(siteId)
    const { rowCount } = await this.#query('DELETE FROM floe_site_secrets WHERE site_id = $1', [id])
    await this.#changed()
    return rowCount > 0
  }

  /** True the first time `signature` is seen (until `expiresAt`), false for a replay. */
  async firstUse(signature: string, expiresAt: Date): Promise<boolean> {
    const { rowCount } = await this.#query(
      `INSERT INTO floe_signature_replays (signature, expires_at) VALUES ($1, $2)
       ON CONFLICT (signature) DO NOTHING`,
      [signature, expiresAt.toISOString()],
    )
    return rowCount === 1
  }

  /** Deletes remembered signatures whose timestamps have left the tolerance window. */
  async cleanupReplays(): Promise<number> {
    const { rowCount } = await this.#query('DELETE FROM floe_signature_replays WHERE expires_at <= now()')
    return rowCount
  }

  #liveSite(siteId: string): Promise<string> {
    return liveSiteId((text, params) => this.#query(text, params), siteId)
  }

  async #changed(): Promise<void> {
    this.#cache.clear()
    if (this.#sql.dialect.notify) await this.#query(this.#sql.dialect.notify, [SECRETS_CHANNEL, 'changed'])
  }
}
