/**
 * Trino's client protocol over plain HTTP (no client library): POST /v1/statement, then follow
 * `nextUri` until the answer has none, collecting `data` pages. Errors are thrown with Trino's
 * message and error name (`TrinoQueryError`).
 */
export interface TrinoResult {
  columns: string[]
  rows: unknown[][]
}

interface StatementPage {
  nextUri?: string
  columns?: { name: string }[]
  data?: unknown[][]
  error?: { message: string; errorName: string }
}

/** A query Trino failed, with its error name (`NO_NODES_AVAILABLE`, `TABLE_NOT_FOUND`, ...). */
export class TrinoQueryError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message)
    this.name = 'TrinoQueryError'
  }
}

/**
 * Trino's coordinator refreshes its view of active nodes (and the catalogs each one serves) every
 * 5 s; a query planned just before a refresh can find no node for its catalog.
 */
const NODE_REFRESH_MS = 5_000

export class TrinoClient {
  constructor(
    readonly url: string,
    private readonly user = 'floe-test',
  ) {}

  /**
   * Runs `sql`. A query failing with NO_NODES_AVAILABLE (scheduling found no active node for its
   * catalog, so nothing ran) is retried once after a node refresh: right after start-up the single
   * node can be active before its catalogs are announced.
   */
  async query(sql: string): Promise<TrinoResult> {
    try {
      return await this.run(sql)
    } catch (e) {
      if (!(e instanceof TrinoQueryError) || e.errorName !== 'NO_NODES_AVAILABLE') throw e
      await new Promise((r) => setTimeout(r, NODE_REFRESH_MS))
      return this.run(sql)
    }
  }

  private async run(sql: string): Promise<TrinoResult> {
    const headers = { 'X-Trino-User': this.user }
    let res = await fetch(`${this.url}/v1/statement`, { method: 'POST', headers, body: sql })
    const rows: unknown[][] = []
    let columns: string[] = []
    for (;;) {
      if (!res.ok) throw new Error(`trino answered ${res.status}: ${await res.text()}\n  in: ${sql}`)
      const page = (await res.json()) as StatementPage
      if (page.error)
        throw new TrinoQueryError(
          page.error.errorName,
          `trino: ${page.error.errorName}: ${page.error.message}\n  in: ${sql}`,
        )
      if (page.columns) columns = page.columns.map((c) => c.name)
      if (page.data) rows.push(...page.data)
      if (!page.nextUri) return { columns, rows }
      // The protocol says to retry 502/503/504 on the same URI after a short wait.
      for (let attempt = 0; ; attempt++) {
        res = await fetch(page.nextUri, { headers })
        if (![502, 503, 504].includes(res.status) || attempt === 50) break
        await res.arrayBuffer()
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }

  /** Rows as objects keyed by column name. */
  async objects(sql: string): Promise<Record<string, unknown>[]> {
    const { columns, rows } = await this.query(sql)
    return rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])))
  }
}
