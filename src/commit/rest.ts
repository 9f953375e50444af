/**
 * Client of the Iceberg REST catalog protocol (docs/catalogs.md; `rest-catalog-open-api.yaml`).
 *
 * - Start-up: `GET {uri}/v1/config?warehouse=…`; the merged config (defaults → client → overrides)
 *   gives the path `prefix` (and may move `uri`).
 * - Auth: ICEBERG_CATALOG_CREDENTIALS `client_id:client_secret` → OAuth2 client-credentials token
 *   from `POST {uri}/v1/oauth/tokens` (or `oauth2-server-uri`), refreshed before expiry and once
 *   on a 401; any other value is sent as a bearer token.
 * - The server writes metadata files. A commit is `POST …/tables/{t}` with the requirements and
 *   updates exactly as the caller built them (`src/table/`; an append sends `assert-table-uuid` +
 *   `assert-ref-snapshot-id` and `add-snapshot` + `set-snapshot-ref`, as Java and PyIceberg do).
 * - Outcomes: 200 → committed; 409 → CommitConflictError (reload, rebuild on the new parent);
 *   404 → NoSuchTableError; 5xx, timeout or a network error → CommitStateUnknownError: the server
 *   may have applied it, so the caller reloads and looks for its snapshot instead of re-sending.
 *   This client never retries a commit by itself.
 * - JSON is parsed and written BigInt-safe (`src/table/json.ts`): snapshot ids are 63-bit.
 */
import { CommitConflictError, CommitStateUnknownError, FloeError, NoSuchTableError } from '../errors.ts'
import { parseJson, stringifyJson } from '../table/json.ts'
import type { TableMetadata } from '../table/metadata.ts'
import type { Catalog, LoadedTable, TableIdentifier } from '../table/catalog.ts'
import type { TableRequirement } from '../table/requirements.ts'
import type { TableUpdate } from '../table/updates.ts'

export interface RestCatalogOptions {
  /** Base URI before `/v1`, e.g. `http://catalog:8181` or `http://floe:8080/iceberg`. */
  uri: string
  /** `client_id:client_secret` (OAuth2 client credentials) or a bearer token. */
  credentials?: string
  warehouse?: string
  name?: string
  /** OAuth2 scope for client credentials (Java's default is `catalog`). */
  scope?: string
  /**
   * The OAuth2 token endpoint (`oauth2-server-uri`), e.g. an external IdP's; relative values are
   * resolved against `uri`. Without it, `/v1/config`'s value, and only then the deprecated
   * `{uri}/v1/oauth/tokens`. Needed up front because the first token is fetched before
   * `/v1/config` can be read.
   */
  oauth2ServerUri?: string
  /** Per-request timeout (default 30 s). A timed-out commit is reported as state unknown. */
  timeoutMs?: number
}

/** An HTTP answer from the catalog that was not 2xx, with the IcebergErrorResponse fields. */
export class RestCatalogError extends FloeError {
  override name = 'RestCatalogError'
  constructor(
    readonly status: number,
    readonly errorType: string | undefined,
    message: string,
  ) {
    super(message)
  }
}

interface Response {
  status: number
  body: unknown
}

/** Multi-level namespaces are joined by 0x1F in paths (sent as `%1F`). */
export function namespacePath(namespace: string[]): string {
  return encodeURIComponent(namespace.join('\u001f'))
}

export class RestCatalog implements Catalog {
  readonly type = 'rest' as const
  readonly name: string
  readonly #options: RestCatalogOptions
  #base: string
  #prefix = ''
  #configured: Promise<void> | undefined
  #token: { value: string; expiresAt: number } | undefined
  #oauthUri: string | undefined
  #tokenRequest: Promise<string> | undefined

  constructor(options: RestCatalogOptions) {
    this.#options = options
    this.#base = options.uri.replace(/\/+$/, '')
    this.name = options.name ?? 'rest'
  }

  // --- transport -------------------------------------------------------------------------------

  async #configure(): Promise<void> {
    this.#configured ??= (async () => {
      const q = this.#options.warehouse ? `?warehouse=${encodeURIComponent(this.#options.warehouse)}` : ''
      const r = await this.#request('GET', `${this.#base}/v1/config${q}`)
      if (r.status !== 200) throw this.#error(r, 'GET /v1/config')
      const body = r.body as { defaults?: Record<string, string>; overrides?: Record<string, string> }
      const client: Record<string, string> = this.#options.warehouse
        ? { warehouse: this.#options.warehouse }
        : {}
      const merged: Record<string, string> = { ...body.defaults, ...client, ...body.overrides }
      if (merged.uri) this.#base = merged.uri.replace(/\/+$/, '')
      this.#prefix = merged.prefix ? `${merged.prefix.replace(/^\/+|\/+$/g, '')}/` : ''
      this.#oauthUri = merged['oauth2-server-uri']
    })().catch((err) => {
      this.#configured = undefined // let the next call try again (catalog not up yet)
      throw err
    })
    return this.#configured
  }

  /** `…/v1/{prefix}/namespaces…` */
  async #url(path: string): Promise<string> {
    await this.#configure()
    return `${this.#base}/v1/${this.#prefix}${path}`
  }

  async #authorization(refresh = false): Promise<string | undefined> {
    const cred = this.#options.credentials
    if (!cred) return undefined
    const colon = cred.indexOf(':')
    if (colon < 0) return `Bearer ${cred}`
    if (!refresh && this.#token && this.#token.expiresAt > Date.now()) return `Bearer ${this.#token.value}`
    // One token request at a time: concurrent callers (e.g. racing writers) share it.
    this.#tokenRequest ??= this.#fetchToken(cred.slice(0, colon), cred.slice(colon + 1)).finally(() => {
      this.#tokenRequest = undefined
    })
    return this.#tokenRequest
  }

  async #fetchToken(clientId: string, clientSecret: string): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope: this.#options.scope ?? 'catalog',
    })
    const configured = this.#options.oauth2ServerUri ?? this.#oauthUri
    const endpoint = configured
      ? new URL(configured, `${this.#options.uri.replace(/\/+$/, '')}/`).toString()
      : `${this.#base}/v1/oauth/tokens`
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 30_000),
    })
    const body = (await res.json().catch(() => ({}))) as {
      access_token?: string
      expires_in?: number
      error?: string
    }
    if (!res.ok || !body.access_token) {
      throw new FloeError(
        `OAuth2 token request to the REST catalog failed (${res.status} ${body.error ?? ''})`,
      )
    }
    // Refresh a minute early so a token never expires between check and use.
    const ttl = (body.expires_in ?? 3600) * 1000
    this.#token = { value: body.access_token, expiresAt: Date.now() + Math.max(ttl - 60_000, ttl / 2) }
    return `Bearer ${body.access_token}`
  }

  /** One HTTP exchange; throws only on network errors/timeouts (the caller decides what they mean). */
  async #request(method: string, url: string, body?: unknown, retryAuth = true): Promise<Response> {
    const auth = await this.#authorization()
    const res = await fetch(url, {
      method,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(auth ? { authorization: auth } : {}),
      },
      body: body === undefined ? undefined : stringifyJson(body),
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 30_000),
    })
    const text = await res.text()
    // A 401 (or the optional 419 "authentication timeout") is rejected before anything is applied,
    // so one retry with a fresh token is safe.
    if ((res.status === 401 || res.status === 419) && retryAuth && this.#options.credentials?.includes(':')) {
      await this.#authorization(true)
      return this.#request(method, url, body, false)
    }
    let parsed: unknown
    try {
      parsed = text ? parseJson(text) : undefined
    } catch {
      parsed = text
    }
    return { status: res.status, body: parsed }
  }

  #error(r: Response, what: string): RestCatalogError {
    const e = (r.body as { error?: { message?: string; type?: string } } | undefined)?.error
    return new RestCatalogError(
      r.status,
      e?.type,
      `${what}: HTTP ${r.status} ${e?.type ?? ''} ${e?.message ?? ''}`.trim(),
    )
  }

  #tablePath(id: TableIdentifier): string {
    return `namespaces/${namespacePath(id.namespace)}/tables/${encodeURIComponent(id.name)}`
  }

  #loaded(r: Response, what: string): LoadedTable {
    const body = r.body as { 'metadata-location'?: string; metadata?: TableMetadata }
    if (!body?.metadata || !body['metadata-location']) {
      throw new FloeError(`${what}: the REST catalog answered without metadata or metadata-location`)
    }
    return { metadataLocation: body['metadata-location'], metadata: body.metadata }
  }

  /** GET with pagination (`pageToken` / `next-page-token`), collecting `key` arrays. */
  async #listAll<T>(path: string, key: string): Promise<T[]> {
    const out: T[] = []
    let token: string | undefined
    do {
      const sep = path.includes('?') ? '&' : '?'
      const url = await this.#url(path + (token ? `${sep}pageToken=${encodeURIComponent(token)}` : ''))
      const r = await this.#request('GET', url)
      if (r.status === 404) throw new NoSuchTableError(`${path}: not found in the REST catalog`)
      if (r.status !== 200) throw this.#error(r, `GET ${path}`)
      const body = r.body as Record<string, unknown>
      out.push(...((body[key] as T[] | undefined) ?? []))
      token = (body['next-page-token'] as string | null | undefined) ?? undefined
    } while (token)
    return out
  }

  // --- Catalog -----------------------------------------------------------------------------------

  /** Every namespace at every level (the REST API lists one level per call: `?parent=`). */
  async listNamespaces(): Promise<string[][]> {
    const out: string[][] = []
    const queue: string[][] = [[]]
    while (queue.length > 0) {
      const parent = queue.shift()!
      const path = parent.length ? `namespaces?parent=${namespacePath(parent)}` : 'namespaces'
      for (const ns of await this.#listAll<string[]>(path, 'namespaces')) {
        // Flat servers ignore `parent` and answer top-level namespaces again: keep only children.
        if (ns.length !== parent.length + 1 || parent.some((p, i) => ns[i] !== p)) continue
        out.push(ns)
        queue.push(ns)
      }
    }
    return out
  }

  /** Creates each missing level, parents first (hierarchical servers refuse a child of nothing). */
  async createNamespaceIfAbsent(namespace: string[]): Promise<void> {
    for (let depth = 1; depth <= namespace.length; depth++) {
      const level = namespace.slice(0, depth)
      const get = await this.#request('GET', await this.#url(`namespaces/${namespacePath(level)}`))
      if (get.status === 200) continue
      const r = await this.#request('POST', await this.#url('namespaces'), {
        namespace: level,
        properties: {},
      })
      // 409: a concurrent creator won, which is what we wanted.
      if (r.status !== 200 && r.status !== 409) throw this.#error(r, `create namespace ${level.join('.')}`)
    }
  }

  async listTables(namespace: string[]): Promise<TableIdentifier[]> {
    return this.#listAll<TableIdentifier>(`namespaces/${namespacePath(namespace)}/tables`, 'identifiers')
  }

  async loadTable(id: TableIdentifier): Promise<LoadedTable | undefined> {
    const r = await this.#request('GET', await this.#url(this.#tablePath(id)))
    if (r.status === 404) return undefined
    if (r.status !== 200) throw this.#error(r, `load table ${id.name}`)
    return this.#loaded(r, `load table ${id.name}`)
  }

  /**
   * The server creates the table and writes its first metadata file; we send the definition and the
   * location (Floe writes data files through its own FileIO, so the table must live there). The
   * server may assign its own table uuid (and could renumber field ids): the returned metadata is
   * what the writer must build on.
   */
  async createTableIfAbsent(id: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable> {
    const existing = await this.loadTable(id)
    if (existing) return existing
    const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id'])
    const spec = metadata['partition-specs'].find((s) => s['spec-id'] === metadata['default-spec-id'])
    const order = metadata['sort-orders'].find((o) => o['order-id'] === metadata['default-sort-order-id'])
    const r = await this.#request(
      'POST',
      await this.#url(`namespaces/${namespacePath(id.namespace)}/tables`),
      {
        name: id.name,
        location: metadata.location,
        schema,
        'partition-spec': spec,
        'write-order': order,
        properties: metadata.properties,
        'stage-create': false,
      },
    )
    if (r.status === 200) return this.#loaded(r, `create table ${id.name}`)
    if (r.status === 409) {
      const now = await this.loadTable(id)
      if (now) return now
    }
    if (r.status === 404) throw new NoSuchTableError(`namespace ${id.namespace.join('.')} does not exist`)
    throw this.#error(r, `create table ${id.name}`)
  }

  async commit(
    id: TableIdentifier,
    requirements: readonly TableRequirement[],
    updates: readonly TableUpdate[],
  ): Promise<LoadedTable> {
    const body = { identifier: { namespace: id.namespace, name: id.name }, requirements, updates }
    const url = await this.#url(this.#tablePath(id))
    await this.#authorization() // outside the try: a failed token request is not a commit attempt
    let r: Response
    try {
      r = await this.#request('POST', url, body)
    } catch (err) {
      throw new CommitStateUnknownError(`REST commit to ${id.name} got no answer: ${String(err)}`, err)
    }
    if (r.status >= 200 && r.status < 300) {
      // Applied, as far as the status says; without a usable CommitTableResponse we cannot know
      // which metadata is current, and must not treat it as a failure (that deletes the files).
      try {
        return this.#loaded(r, `commit to ${id.name}`)
      } catch (err) {
        throw new CommitStateUnknownError(
          `REST commit to ${id.name}: HTTP ${r.status} without a usable body`,
          err,
        )
      }
    }
    if (r.status === 409) throw new CommitConflictError(this.#error(r, `commit to ${id.name}`).message)
    if (r.status === 404) throw new NoSuchTableError(this.#error(r, `commit to ${id.name}`).message)
    if (r.status >= 500) throw new CommitStateUnknownError(this.#error(r, `commit to ${id.name}`).message)
    // 400/401/403/…: rejected before anything was applied.
    throw this.#error(r, `commit to ${id.name}`)
  }

  async close(): Promise<void> {}
}
