/**
 * Per-site keys in the same Postgres (or embedded database) as the sites, table `floe_site_keys`
 * (catalog/site-keys.sql). Three kinds:
 * - `read`: a secret for the reporting APIs, server to server (Umami-style API keys map onto it);
 * - `write`: a secret for server-side ingest (`/v1/events`);
 * - `share`: a public, read-only link to one site's dashboard, revocable like the others.
 *
 * A token is `floe_<kind>_<32 random bytes, base64url>`; it is shown once, when created, and only its
 * SHA-256 is stored, so a database dump does not hand out working keys. 256 random bits make a salted
 * slow hash unnecessary: there is nothing to brute-force.
 *
 * `resolve` is on every authenticated request, so answers (hits and misses) are cached briefly.
 * Every change announces itself with `NOTIFY floe_site_keys` and every process on the same Postgres
 * clears its cache on hearing it, so a revoked key stops working on all replicas within milliseconds;
 * the TTL bounds it if the LISTEN connection is down (it then resyncs by clearing too).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { LRUCache } from 'lru-cache'
import type { SqlClient } from '../storage/sql.ts'
import { applyDdl } from '../storage/ddl.ts'
import { KeyNotFoundError, SiteStoreUnavailableError, ValidationError } from '../errors.ts'
import { isUnreachable } from './unreachable.ts'
import { liveSiteId } from './live-site.ts'

export const KEY_KINDS = ['read', 'write', 'share'] as const
export type KeyKind = (typeof KEY_KINDS)[number]

export interface SiteKey {
  id: string
  siteId: string
  kind: KeyKind
  label: string | null
  /** ISO 8601 timestamps. */
  createdAt: string
  revokedAt: string | null
}

export interface KeyStoreOptions {
  /** How long a resolved answer is reused (default 30 s); changes are also heard via NOTIFY. */
  cacheTtlMs?: number
}

/** The Postgres channel key changes are announced on. */
export const KEYS_CHANNEL = 'floe_site_keys'

const DDL = readFileSync(new URL('../../catalog/site-keys.sql', import.meta.url), 'utf8')
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const TOKEN = /^floe_(read|write|share)_[A-Za-z0-9_-]{43}$/
const MAX_LABEL = 200

interface KeyRecord {
  key_id: string
  site_id: string
  kind: KeyKind
  label: string | null
  created_at: Date | string
  revoked_at: Date | string | null
}

const iso = (v: Date | string) => new Date(v).toISOString()
const sha256 = (token: string) => createHash('sha256').update(token).digest('hex')

function toKey(r: KeyRecord): SiteKey {
  return {
    id: r.key_id,
    siteId: r.site_id,
    kind: r.kind,
    label: r.label,
    createdAt: iso(r.created_at),
    revokedAt: r.revoked_at === null ? null : iso(r.revoked_at),
  }
}

/** Does the string have the shape of a Floe key token (before any lookup)? */
export function isKeyToken(token: string): boolean {
  return TOKEN.test(token)
}

export class KeyStore {
  readonly #sql: Pick<SqlClient, 'query' | 'dialect'>
  readonly #cache: LRUCache<string, { key: SiteKey | null }>

  private constructor(sql: Pick<SqlClient, 'query' | 'dialect'>, options: KeyStoreOptions) {
    this.#sql = sql
    this.#cache = new LRUCache({ max: 10_000, ttl: options.cacheTtlMs ?? 30_000 })
  }

  /** Creates the table if needed (after `floe_sites`, which it references) and subscribes to changes. */
  static async open(
    sql: Pick<SqlClient, 'query' | 'listen' | 'transaction' | 'dialect'>,
    options: KeyStoreOptions = {},
  ): Promise<KeyStore> {
    await applyDdl(sql, DDL)
    const store = new KeyStore(sql, options)
    await sql.listen?.(KEYS_CHANNEL, {
      notify: () => store.#cache.clear(),
      resync: () => store.#cache.clear(),
    })
    return store
  }

  async #query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }> {
    try {
      return await this.#sql.query<R>(text, params)
    } catch (err) {
      if (isUnreachable(err)) throw new SiteStoreUnavailableError(err)
      throw err
    }
  }

  /** A new key for a live site; the token is in this answer only. */
  async create(
    siteId: string,
    kind: KeyKind,
    label: string | null = null,
  ): Promise<{ key: SiteKey; token: string }> {
    if (!KEY_KINDS.includes(kind)) throw new ValidationError('kind', `must be one of ${KEY_KINDS.join(', ')}`)
    if (label !== null && (typeof label !== 'string' || label.length > MAX_LABEL))
      throw new ValidationError('label', `must be a string of at most ${MAX_LABEL} characters`)
    const site = await this.#liveSite(siteId)
    const token = `floe_${kind}_${randomBytes(32).toString('base64url')}`
    const { rows } = await this.#query<KeyRecord>(
      `INSERT INTO floe_site_keys (key_id, site_id, kind, token_sha256, label)
       VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [randomUUID(), site, kind, sha256(token), label],
    )
    await this.#changed()
    return { key: toKey(rows[0]), token }
  }

  async list(siteId: string, options: { includeRevoked?: boolean } = {}): Promise<SiteKey[]> {
    const site = await this.#liveSite(siteId)
    const { rows } = await this.#query<KeyRecord>(
      `SELECT * FROM floe_site_keys WHERE site_id = $1 ${options.includeRevoked ? '' : 'AND revoked_at IS NULL'}
       ORDER BY created_at, key_id`,
      [site],
    )
    return rows.map(toKey)
  }

  /** Revokes the key (idempotent: revoking a revoked key answers it unchanged). */
  async revoke(siteId: string, keyId: string): Promise<SiteKey> {
    const site = await this.#liveSite(siteId)
    if (!UUID.test(keyId)) throw new KeyNotFoundError(keyId)
    const { rows } = await this.#query<KeyRecord>(
      `UPDATE floe_site_keys SET revoked_at = COALESCE(revoked_at, now())
       WHERE site_id = $1 AND key_id = $2 RETURNING *`,
      [site, keyId.toLowerCase()],
    )
    if (!rows[0]) throw new KeyNotFoundError(keyId)
    this.#cache.clear()
    await this.#changed()
    return toKey(rows[0])
  }

  /** The live key a token stands for, or null (unknown, revoked, or its site deleted). */
  async resolve(token: string): Promise<SiteKey | null> {
    if (!isKeyToken(token)) return null
    const hash = sha256(token)
    const hit = this.#cache.get(hash)
    if (hit) return hit.key
    const { rows } = await this.#query<KeyRecord>(
      `SELECT k.* FROM floe_site_keys k JOIN floe_sites s ON s.site_id = k.site_id
       WHERE k.token_sha256 = $1 AND k.revoked_at IS NULL AND s.deleted_at IS NULL`,
      [hash],
    )
    const key = rows[0] ? toKey(rows[0]) : null
    this.#cache.set(hash, { key })
    return key
  }

  #liveSite(siteId: string): Promise<string> {
    return liveSiteId((text, params) => this.#query(text, params), siteId)
  }

  async #changed(): Promise<void> {
    this.#cache.clear()
    if (this.#sql.dialect.notify) await this.#query(this.#sql.dialect.notify, [KEYS_CHANNEL, 'changed'])
  }
}
