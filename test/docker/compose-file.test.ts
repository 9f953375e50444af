/**
 * Issue 9 item 10: the Docker stack as shipped can accept an event by following the compose
 * header's commands. No Docker engine runs here, so docker-compose.yml is parsed and its facts
 * checked, and the header's own commands are run against a real receiver where that is possible
 * (the site-id extraction with sed, the send's body and user agent).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { isbot } from 'isbot'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestReceiver, type TestReceiver } from '../receive/support.ts'

const text = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')
const compose = parse(text) as {
  services: Record<string, { environment?: Record<string, string>; ports?: string[] }>
}
const floeEnv = compose.services.floe.environment ?? {}
/** The header's shell commands, continuation lines joined. */
const header = text
  .split('\n')
  .filter((l) => l.startsWith('#   '))
  .map((l) => l.slice(4))
  .join('\n')
  .replace(/\\\n\s*/g, '')
  .split('\n')
  .filter((l) => !l.startsWith('#'))

let r: TestReceiver
beforeAll(async () => {
  r = await startTestReceiver({ ADMIN_TOKEN: floeEnv.ADMIN_TOKEN ?? 'unset-in-compose' })
})
afterAll(() => r.close())

describe('docker-compose.yml', () => {
  it('gives the floe service an ADMIN_TOKEN, and the header uses that token', () => {
    expect(floeEnv.ADMIN_TOKEN).toBeTruthy()
    const withToken = header.filter((c) => c.includes('authorization: Bearer'))
    expect(withToken.length).toBeGreaterThanOrEqual(2) // create site, flush
    for (const c of withToken) expect(c).toContain(`authorization: Bearer ${floeEnv.ADMIN_TOKEN}`)
  })

  it('does not publish Postgres on host port 5432', () => {
    for (const p of compose.services.postgres.ports ?? []) {
      const parts = String(p).split(':')
      const hostPort = parts.length >= 2 ? parts[parts.length - 2] : parts[0]
      expect(hostPort).not.toBe('5432')
    }
  })

  it("the header's create-site command and its sed extraction give the site id (real receiver)", async () => {
    const create = header.find((c) => c.includes('/api/sites'))!
    const body = /-d '([^']+)'/.exec(create)![1]
    const sed = /sed '([^']+)'/.exec(create)![1]
    const res = await r.app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: { authorization: `Bearer ${floeEnv.ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload: body,
    })
    expect(res.statusCode).toBe(201)
    const id = execFileSync('sed', [sed], { input: res.body }).toString().trim()
    expect(id).toBe(res.json().id)

    // The send, with that id: a browser user agent, a hostname the site allows → accepted.
    const send = header.find((c) => c.includes('/api/send'))!
    const ua = /-H 'user-agent: ([^']+)'/.exec(send)![1]
    expect(isbot(ua)).toBe(false)
    const payload = JSON.parse(
      /-d "(.+)"$/.exec(send)![1].replace(/\\"/g, '"').replace('$SITE', id),
    ) as unknown
    const sent = await r.app.inject({
      method: 'POST',
      url: '/api/send',
      headers: { 'content-type': 'application/json', 'user-agent': ua },
      payload: JSON.stringify(payload),
    })
    expect(sent.statusCode, sent.body).toBe(200)
    expect(sent.json().sessionId).toBeTruthy()
    expect(r.sink.events).toHaveLength(1)
  })

  it('the header names the queries it runs, and they exist', () => {
    for (const c of header.filter((l) => l.includes('/etc/floe/queries/'))) {
      const file = /\/etc\/floe\/queries\/(\S+)/.exec(c)![1]
      expect(() => readFileSync(new URL(`../../dev/queries/${file}`, import.meta.url))).not.toThrow()
    }
  })
})
