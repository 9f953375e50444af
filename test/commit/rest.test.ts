/**
 * REST client specifics, against Floe's own REST endpoint (write support on, backed by jdbc on
 * PostgreSQL) with fault injection in front of it: the config `prefix`, OAuth2 and bearer auth, the
 * exact commit request, and what each failure means (409 conflict, 404, and — the important one —
 * 5xx / timeout / dropped connection after the server may have applied the commit: state unknown).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { LoadedTable } from '../../src/table/catalog.ts'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { RestCatalog, RestCatalogError } from '../../src/commit/rest.ts'
import { CommitConflictError, CommitStateUnknownError, NoSuchTableError } from '../../src/errors.ts'
import { icebergRestPlugin } from '../../src/read/rest-catalog.ts'
import { fileUri, LocalFileIO } from '../../src/storage/local.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { createTestDatabase } from '../support/pg.ts'
import { createTableWriter } from '../../src/write/append.ts'
import { eventRows, newTableMetadata, snapshotId, withAppend } from './fixtures.ts'
import { commitAppend } from '../../src/table/append-commit.ts'

const TOKEN = 'rest-test-secret'
type Fault =
  | 'none'
  | 'error-before-apply'
  | 'error-after-apply'
  | 'slow-after-apply'
  | 'drop-after-apply'
  | 'empty-2xx-after-apply'
  | 'expired-token-once'

describe('rest catalog client against Floe REST endpoint (with fault injection)', () => {
  let app: FastifyInstance
  let sql: PgSql
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let dir: string
  let warehouse: string
  let base: string
  const io = new LocalFileIO()
  let fault: Fault = 'none'
  const seen: string[] = []
  const commitBodies: unknown[] = []
  const tokenForms: Record<string, string>[] = []
  const isCommit = (method: string, url: string) =>
    method === 'POST' && /\/namespaces\/[^/]+\/tables\/[^/?]+$/.test(url)

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'floe-rest-'))
    warehouse = fileUri(dir)
    db = await createTestDatabase('floe_rest_client')
    sql = new PgSql(db.url)
    // The server advertises prefix `ws1` in /v1/config overrides; rewriteUrl strips it again so
    // Floe's endpoint (which has no prefix) serves the request — and `seen` shows what was asked.
    app = Fastify({
      rewriteUrl: (req) => {
        seen.push(`${req.method} ${req.url}`)
        return req.url!.replace('/iceberg/v1/ws1/', '/iceberg/v1/')
      },
    })
    app.addHook('onRequest', async (req, reply) => {
      if (fault === 'expired-token-once' && !req.url.endsWith('/oauth/tokens')) {
        fault = 'none' // 419: "authentication timeout", which the spec lets servers send
        return reply
          .code(419)
          .send({ error: { message: 'token expired', type: 'AuthenticationTimeout', code: 419 } })
      }
      if (fault === 'error-before-apply' && isCommit(req.method, req.url)) {
        await reply
          .code(503)
          .send({ error: { message: 'injected', type: 'ServiceUnavailableException', code: 503 } })
      }
    })
    app.addHook('preHandler', async (req) => {
      if (isCommit(req.method, req.url)) commitBodies.push(req.body)
      if (req.url.endsWith('/v1/oauth/tokens')) tokenForms.push(req.body as Record<string, string>)
    })
    app.addHook('onSend', async (req, reply, payload) => {
      if (req.url.startsWith('/iceberg/v1/config')) {
        const body = JSON.parse(String(payload)) as { overrides: Record<string, string> }
        body.overrides.prefix = 'ws1'
        return JSON.stringify(body)
      }
      if (!isCommit(req.method, req.url) || reply.statusCode !== 200) return payload
      if (fault === 'error-after-apply') {
        reply.code(502)
        return JSON.stringify({ error: { message: 'injected gateway error', type: 'BadGateway', code: 502 } })
      }
      if (fault === 'slow-after-apply') await new Promise((r) => setTimeout(r, 1500))
      if (fault === 'empty-2xx-after-apply') {
        reply.code(204)
        return ''
      }
      if (fault === 'drop-after-apply') req.raw.socket.destroy()
      return payload
    })
    await app.register(icebergRestPlugin, {
      prefix: '/iceberg',
      catalog: new JdbcCatalog({ sql, io, name: 'rest_test' }),
      io,
      readToken: TOKEN,
      writeEnabled: true,
      warehouse,
    })
    base = `${await app.listen({ port: 0, host: '127.0.0.1' })}/iceberg`
  })
  afterAll(async () => {
    await app.close()
    await sql.close()
    await db.drop()
    rmSync(dir, { recursive: true, force: true })
  })
  beforeEach(() => {
    fault = 'none'
  })

  const client = (credentials = `reader:${TOKEN}`, timeoutMs = 1000) =>
    new RestCatalog({ uri: base, credentials, warehouse: 'wh1', timeoutMs })

  async function freshTable(
    name: string,
  ): Promise<[RestCatalog, { namespace: string[]; name: string }, LoadedTable]> {
    const c = client()
    const id = { namespace: ['rest'], name }
    await c.createNamespaceIfAbsent(['rest'])
    return [c, id, await c.createTableIfAbsent(id, newTableMetadata(`${warehouse}/rest/${name}`))]
  }

  it('uses the warehouse, the prefix from /v1/config and an OAuth2 client-credentials token', async () => {
    seen.length = 0
    tokenForms.length = 0
    await freshTable('prefix')
    expect(tokenForms).toEqual([
      { grant_type: 'client_credentials', client_id: 'reader', client_secret: TOKEN, scope: 'catalog' },
    ])
    // As Java's RESTSessionCatalog: token first (the config call is authenticated), then config.
    expect(seen.slice(0, 2)).toEqual([
      'POST /iceberg/v1/oauth/tokens',
      'GET /iceberg/v1/config?warehouse=wh1',
    ])
    const catalogCalls = seen.filter((s) => s.includes('/namespaces'))
    expect(catalogCalls.length).toBeGreaterThan(0)
    for (const s of catalogCalls) expect(s).toContain('/iceberg/v1/ws1/namespaces')
  })

  it('accepts a plain bearer token, and reports a wrong one as a 401 error', async () => {
    expect(await client(TOKEN).listNamespaces()).toContainEqual(['rest'])
    const bad = client('not-the-token').listNamespaces()
    await expect(bad).rejects.toBeInstanceOf(RestCatalogError)
    await expect(bad).rejects.toMatchObject({ status: 401 })
  })

  it('sends assert-table-uuid + assert-ref-snapshot-id (null first) with add-snapshot + set-snapshot-ref', async () => {
    const [c, id, t0] = await freshTable('body')
    commitBodies.length = 0
    const s1 = snapshotId()
    const t1 = await commitAppend(c, id, { base: t0, metadata: await withAppend(io, t0, s1), snapshotId: s1 })
    const s2 = snapshotId()
    await commitAppend(c, id, { base: t1, metadata: await withAppend(io, t1, s2), snapshotId: s2 })
    const [b1, b2] = commitBodies as { requirements: unknown[]; updates: { action: string }[] }[]
    expect(b1.requirements).toEqual([
      { type: 'assert-table-uuid', uuid: t0.metadata['table-uuid'] },
      { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null },
    ])
    expect(b2.requirements[1]).toEqual({ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': s1 })
    expect(b2.updates.map((u) => u.action)).toEqual(['add-snapshot', 'set-snapshot-ref'])
    expect(b2.updates[1]).toEqual({
      action: 'set-snapshot-ref',
      'ref-name': 'main',
      type: 'branch',
      'snapshot-id': s2,
    })
  })

  it('409 (stale parent) is CommitConflictError; 404 is NoSuchTableError', async () => {
    const [c, id, t0] = await freshTable('conflict')
    const s1 = snapshotId()
    await commitAppend(c, id, { base: t0, metadata: await withAppend(io, t0, s1), snapshotId: s1 })
    const s2 = snapshotId()
    const stale = commitAppend(c, id, { base: t0, metadata: await withAppend(io, t0, s2), snapshotId: s2 })
    await expect(stale).rejects.toBeInstanceOf(CommitConflictError)
    const gone = { namespace: ['rest'], name: 'never_created' }
    const s3 = snapshotId()
    const metadata = await withAppend(io, t0, s3)
    await expect(commitAppend(c, gone, { base: t0, metadata, snapshotId: s3 })).rejects.toBeInstanceOf(
      NoSuchTableError,
    )
  })

  it.each([
    ['5xx before the server applied it', 'error-before-apply', false],
    ['5xx after the server applied it (answer lost)', 'error-after-apply', true],
    ['a timeout after the server applied it', 'slow-after-apply', true],
    ['a dropped connection after the server applied it', 'drop-after-apply', true],
    ['a 2xx without a usable body after the server applied it', 'empty-2xx-after-apply', true],
  ] as const)('%s is CommitStateUnknownError; a reload tells the truth', async (_label, f, applied) => {
    const [c, id, t0] = await freshTable(`unknown_${f.replace(/-/g, '_')}`)
    fault = f
    const sid = snapshotId()
    const commit = commitAppend(c, id, { base: t0, metadata: await withAppend(io, t0, sid), snapshotId: sid })
    await expect(commit).rejects.toBeInstanceOf(CommitStateUnknownError)
    fault = 'none'
    const now = (await client().loadTable(id))!
    // Had the client re-sent blindly after an applied commit, the snapshot would be there twice or
    // conflict forever; the caller instead finds its snapshot (or not) by reloading.
    expect(now.metadata.snapshots.filter((s) => s['snapshot-id'] === sid)).toHaveLength(applied ? 1 : 0)
  })

  it('with the table writer: an answer lost after apply is settled by reload, the rows land once', async () => {
    const writer = createTableWriter({ catalog: client(), io, namespace: ['rest_writer'], warehouse })
    await writer.ensureTables()
    fault = 'error-after-apply'
    const sent = commitBodies.length
    const result = await writer.append('pa_events', eventRows('lost', 5))
    fault = 'none'
    expect(commitBodies.length - sent).toBe(1) // one commit request, answered 502; never re-sent
    const now = (await client().loadTable({ namespace: ['rest_writer'], name: 'pa_events' }))!
    expect(now.metadata.snapshots.map((s) => s['snapshot-id'])).toEqual([result.snapshotId])
    expect(now.metadata.snapshots[0].summary['total-records']).toBe('5')
  })

  it('a 419 (token expired) gets a fresh token and one retry', async () => {
    const c = client()
    await c.listNamespaces() // token fetched
    const before = tokenForms.length
    fault = 'expired-token-once'
    expect(await c.listNamespaces()).toEqual(expect.any(Array))
    expect(tokenForms.length).toBe(before + 1)
  })

  it('nested namespaces: parents are created first, and listing walks every level', async () => {
    const c = client()
    await c.createNamespaceIfAbsent(['lab', 'nested', 'deep'])
    const all = (await c.listNamespaces()).map((n) => n.join('.'))
    expect(all).toEqual(expect.arrayContaining(['lab', 'lab.nested', 'lab.nested.deep']))
  })

  it('client credentials against an external token endpoint (ICEBERG_CATALOG_OAUTH2_SERVER_URI)', async () => {
    // A separate OAuth2 server (an IdP such as Keycloak): it hands out the catalog's bearer token.
    const idp = Fastify()
    const asked: string[] = []
    idp.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_r, b, done) =>
      done(null, Object.fromEntries(new URLSearchParams(String(b)))),
    )
    idp.post('/realms/lake/token', async (req) => {
      asked.push((req.body as Record<string, string>).client_id)
      return { access_token: TOKEN, token_type: 'bearer', expires_in: 300 }
    })
    const idpUri = `${await idp.listen({ port: 0, host: '127.0.0.1' })}/realms/lake/token`
    try {
      const before = tokenForms.length
      const c = new RestCatalog({ uri: base, credentials: 'svc:idp-secret', oauth2ServerUri: idpUri })
      expect(await c.listNamespaces()).toEqual(expect.any(Array))
      expect(asked).toEqual(['svc'])
      expect(tokenForms.length).toBe(before) // the catalog's own deprecated endpoint was never used
    } finally {
      await idp.close()
    }
  })
})
