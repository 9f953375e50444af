/**
 * Browser test: headless Chromium (Debian `chromium`, driven by playwright-core) opens pages served
 * on http://localhost:<port> that load a tracker pointed at Floe (http://127.0.0.1:<port>, so every
 * request is cross-origin and goes through Floe's CORS allowlist). Two trackers:
 *  - Floe's /script.js (a re-implementation of Umami v3's tracker, src/receive/tracker/script.js);
 *  - Umami's own tracker v2.10.0 from npm, unchanged (test/browser/umami-2.10.0/).
 * Floe runs as the full app (createApp: real Postgres catalog + local warehouse); after a flush the
 * rows are read back from the Iceberg tables with icebird, not from Floe's memory.
 *
 * Headless Chromium announces itself as `HeadlessChrome`, which isbot flags (Floe answers
 * beep/boop and stores nothing, checked below); the tracking contexts use the UA a headed Chromium
 * of the same version sends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino from 'pino'
import type { Browser } from 'playwright-core'
import { loadConfig } from '../../src/config.ts'
import { createApp, type FloeApp } from '../../src/app.ts'
import { createTestDatabase } from '../support/pg.ts'
import { installFetchShim, metadataLocation, readWithIcebird } from '../e2e/readback.ts'
import { launchChromium } from '../support/chromium.ts'

const UMAMI_TRACKER = readFileSync(new URL('./umami-2.10.0/index.js', import.meta.url), 'utf8')

let db: Awaited<ReturnType<typeof createTestDatabase>>
let app: FloeApp
let floe: string
let pages: Server
let pageBase: string
let browser: Browser
let headedUA: string
let siteId: string
let dataDir: string

function page(title: string, script: string): string {
  return `<!doctype html><html><head><title>${title}</title>${script}</head><body><h1>${title}</h1>
<button id="buy" data-umami-event="buy" data-umami-event-sku="A-1">Buy</button></body></html>`
}

beforeAll(async () => {
  db = await createTestDatabase('floe_browser')
  dataDir = mkdtempSync(path.join(tmpdir(), 'floe-browser-'))
  const config = loadConfig({
    DATABASE_URL: db.url,
    APP_SECRET: 'browser-secret',
    ADMIN_TOKEN: 'admin',
    FLOE_DATA_DIR: dataDir,
    PUBLIC_URL: 'http://127.0.0.1',
    LOG_LEVEL: 'warn',
  })
  installFetchShim()
  app = await createApp(config, { logger: pino({ level: 'warn' }) })
  await app.start()
  floe = await app.server.listen({ port: 0, host: '127.0.0.1' })

  const created = await fetch(`${floe}/api/sites`, {
    method: 'POST',
    headers: { authorization: 'Bearer admin', 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Local page', domains: ['localhost'] }),
  })
  siteId = ((await created.json()) as { id: string }).id

  pages = createServer((req, res) => {
    const tag = (src: string) =>
      `<script src="${src}" data-website-id="${siteId}" data-host-url="${floe}"></script>`
    const routes: Record<string, [string, string]> = {
      '/floe.html': ['text/html', page('Floe tracker', tag(`${floe}/script.js`))],
      '/umami.html': ['text/html', page('Umami tracker', tag('/umami.js'))],
      '/umami.js': ['application/javascript', UMAMI_TRACKER],
    }
    const route = routes[(req.url ?? '').split('?')[0]]
    if (!route) return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': route[0] }).end(route[1])
  })
  await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r))
  pageBase = `http://localhost:${(pages.address() as AddressInfo).port}`

  browser = await launchChromium()
  headedUA = `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${browser.version()} Safari/537.36`
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await new Promise((r) => pages?.close(r))
  await app?.close(Date.now() + 5000)
  await db?.drop()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

type Row = Record<string, unknown>

describe('tracker in headless Chromium', () => {
  it('records a pageview and custom events with the right browser, URL and session', async () => {
    const ctx = await browser.newContext({ userAgent: headedUA, viewport: { width: 1280, height: 800 } })
    const tab = await ctx.newPage()

    // Floe's tracker: pageview on load, then umami.track and a data-umami-event click.
    const pageview = tab.waitForResponse((r) => r.url().endsWith('/api/send'))
    await tab.goto(`${pageBase}/floe.html?utm_source=newsletter`)
    const pv = await pageview
    expect(pv.status()).toBe(200)
    expect(pv.headers()['access-control-allow-origin']).toBe(pageBase)
    const pvBody = (await pv.json()) as { sessionId: string; visitId: string; cache: string }
    await tab.evaluate(() =>
      (globalThis as unknown as { umami: { track: (n: string, d: object) => Promise<void> } }).umami.track(
        'signup',
        { plan: 'pro', seats: 3 },
      ),
    )
    const click = tab.waitForResponse((r) => r.url().endsWith('/api/send'))
    await tab.click('#buy')
    await click

    // Umami's own v2.10.0 tracker, unchanged, on the same origin and browser.
    const umamiPv = tab.waitForResponse((r) => r.url().endsWith('/api/send'))
    await tab.goto(`${pageBase}/umami.html`)
    expect((await umamiPv).status()).toBe(200)
    await tab.evaluate(() =>
      (globalThis as unknown as { umami: { track: (n: string, d: object) => Promise<void> } }).umami.track(
        'umami-event',
        { via: 'v2' },
      ),
    )
    await ctx.close()

    // The default headless UA is a bot: 200 beep/boop, nothing stored.
    const botCtx = await browser.newContext()
    const botTab = await botCtx.newPage()
    const bot = botTab.waitForResponse((r) => r.url().endsWith('/api/send'))
    await botTab.goto(`${pageBase}/floe.html`)
    expect(await (await bot).json()).toEqual({ beep: 'boop' })
    await botCtx.close()

    await app.flush()
    const events = (await readWithIcebird(await metadataLocation(db.url, 'pa_events'))) as Row[]
    const byName = (n: string | null) => events.filter((e) => e.event_name === n)
    expect(events).toHaveLength(5)
    const [floeView, umamiView] = byName(null).sort((a, b) =>
      String(a.page_title).localeCompare(String(b.page_title)),
    )
    expect(floeView).toMatchObject({
      site_id: siteId,
      event_type: 1,
      url_path: '/floe.html',
      url_query: 'utm_source=newsletter',
      utm_source: 'newsletter',
      hostname: 'localhost',
      page_title: 'Floe tracker',
      browser: 'chrome',
      os: 'Linux',
      device: 'laptop',
      screen: '1280x800',
      session_id: pvBody.sessionId,
      visit_id: pvBody.visitId,
    })
    expect(byName('signup')[0]).toMatchObject({
      event_type: 2,
      session_id: pvBody.sessionId,
      visit_id: pvBody.visitId,
      url_path: '/floe.html',
    })
    expect(flat(byName('signup')[0].event_data)).toEqual({ plan: 'pro', seats: '3' })
    expect(flat(byName('buy')[0].event_data)).toEqual({ sku: 'A-1' })
    // Umami v2's tracker: relative URL and encoded title; same browser+IP+site → same session.
    expect(umamiView).toMatchObject({
      url_path: '/umami.html',
      page_title: 'Umami tracker',
      hostname: 'localhost',
      browser: 'chrome',
      session_id: pvBody.sessionId,
    })
    expect(flat(byName('umami-event')[0].event_data)).toEqual({ via: 'v2' })

    const sessions = (await readWithIcebird(await metadataLocation(db.url, 'pa_sessions'))) as Row[]
    expect(sessions.map((s) => s.session_id)).toEqual([pvBody.sessionId])
    expect(sessions[0]).toMatchObject({
      site_id: siteId,
      browser: 'chrome',
      os: 'Linux',
      screen: '1280x800',
      language: expect.any(String),
    })
  })
})

/** icebird returns map columns as objects or key/value arrays depending on version: normalise. */
function flat(v: unknown): Record<string, string> | null {
  if (v === null || v === undefined) return null
  if (v instanceof Map) return Object.fromEntries(v)
  if (Array.isArray(v))
    return Object.fromEntries(v.map((e: { key: string; value: string }) => [e.key, e.value]))
  return v as Record<string, string>
}
