/**
 * Issue 9 item 6: unauthenticated requests that used to answer 500 on the REST endpoint (open, as
 * by default): bad percent-encoding in an HTTP Basic header, and a JSON body nested 100,000 deep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRestFixture, type RestFixture } from './support.ts'

let f: RestFixture
beforeAll(async () => {
  f = await startRestFixture({ readToken: undefined })
})
afterAll(() => f.close())

const tokens = (authorization: string) =>
  fetch(`${f.baseUrl}/iceberg/v1/oauth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'catalog' }).toString(),
  })

describe('REST endpoint: malformed input from anyone is a 4xx', () => {
  it('Basic credentials with bad percent-encoding: 401 invalid_client', async () => {
    for (const creds of ['id:%zz', '%E0%A4%A:secret', 'trino:%']) {
      const res = await tokens(`Basic ${Buffer.from(creds).toString('base64')}`)
      expect(res.status, creds).toBe(401)
      expect(((await res.json()) as { error: string }).error).toBe('invalid_client')
    }
    // Well-formed Basic credentials still work on the open endpoint.
    const ok = await tokens(`Basic ${Buffer.from('spark:s%20cret').toString('base64')}`)
    expect(ok.status).toBe(200)
    expect(((await ok.json()) as { access_token: string }).access_token).toBe('s cret')
  })

  it('a JSON body of 100,000 "[" on a JSON route: 400 BadRequestException', async () => {
    for (const body of [
      '['.repeat(100_000),
      '['.repeat(100_000) + ']'.repeat(100_000),
      '{"a":'.repeat(50_000),
    ]) {
      const res = await fetch(`${f.baseUrl}/iceberg/v1/namespaces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      expect(res.status).toBe(400)
      const json = (await res.json()) as { error: { type: string; message: string } }
      expect(json.error.type).toBe('BadRequestException')
      expect(json.error.message).toMatch(/nesting deeper than 256 levels/)
    }
    // The endpoint still answers afterwards.
    expect((await fetch(`${f.baseUrl}/iceberg/v1/namespaces`)).status).toBe(200)
  })
})
