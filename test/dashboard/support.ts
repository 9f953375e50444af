/**
 * Shared by the dashboard's browser tests: a running Floe (real Postgres catalog, s3rver
 * warehouse) holding a known fixture (test/report/fixture.ts: visitors with pageviews, referrers,
 * UTM tags, custom events with properties; a country per visitor from a CDN header), keys of
 * every kind, and helpers that read what the page shows.
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import type { Page } from 'playwright-core'
import { expect } from 'vitest'
import type { FloeApp } from '../../src/app.ts'
import {
  ADMIN_TOKEN,
  createSite,
  floeEnv,
  startInProcess,
  startServices,
  type Services,
} from '../e2e/support.ts'
import { freePort } from '../support/s3.ts'
import { fixtureCalls, type Call } from '../report/fixture.ts'

/** Screenshots (gitignored): looked at by people, not compared by the test. */
export const ARTIFACTS = path.resolve(import.meta.dirname, '../../artifacts/dashboard')

/** The browser's zone is not UTC, so the chart's local buckets are really tested. */
export const TIMEZONE = 'America/New_York'

export interface Fixture {
  services: Services
  app: FloeApp
  base: string
  siteId: string
  otherSiteId: string
  readToken: string
  otherReadToken: string
  shareToken: string
}

const COUNTRIES = ['DE', 'US', 'FR', 'GB', 'JP']

/**
 * Sends the tracker calls as the fixture has them, each visitor from a public address (the
 * fixture's documentation range gets no geo at all) with a country from a CDN header.
 */
async function send(base: string, calls: readonly Call[]): Promise<void> {
  for (const c of calls) {
    const n = Number(c.ip.split('.').at(-1))
    const res = await fetch(`${base}/api/send`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': c.ua,
        'x-forwarded-for': `81.2.69.${n}`,
        'cf-ipcountry': COUNTRIES[n % COUNTRIES.length],
      },
      body: JSON.stringify(c.body),
    })
    expect(res.status, await res.text()).toBe(200)
  }
}

async function createKey(base: string, site: string, kind: 'read' | 'share'): Promise<string> {
  const res = await fetch(`${base}/api/sites/${site}/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind, label: 'dashboard test' }),
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { token: string }).token
}

export async function startFixture(dbPrefix: string): Promise<Fixture> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const services = await startServices(dbPrefix)
  const env = {
    ...floeEnv({ databaseUrl: services.db.url, s3: services.s3, port: await freePort() }),
    FLOE_MAINTENANCE_INTERVAL_SECONDS: '0',
    // The fixture reaches 12 days back, so "last 7 days" has a previous period to compare with.
    EVENT_TIME_MAX_PAST_SECONDS: String(14 * 86_400),
  }
  const { app, base } = await startInProcess(env)
  const siteId = await createSite(services.db.url)
  const otherSiteId = await createSite(services.db.url)
  const named = await fetch(`${base}/api/sites/${siteId}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'example.com' }),
  })
  expect(named.status).toBe(200)
  // Events over the last 12 days, all in the past (a visitor's views run up to 4 minutes after its
  // start), so "7 days" and "24 hours" hold a part and have a previous period; a few visitors in
  // the last 5 minutes for the live count.
  const now = Math.floor(Date.now() / 1000)
  const end = now - 400
  await send(base, fixtureCalls(siteId, end, 150, 12 * 24, 11))
  await send(base, fixtureCalls(siteId, now - 250, 3, 0.02, 12))
  await send(base, fixtureCalls(otherSiteId, end, 10, 24, 13))
  await app.flush()
  return {
    services,
    app,
    base,
    siteId,
    otherSiteId,
    readToken: await createKey(base, siteId, 'read'),
    otherReadToken: await createKey(base, otherSiteId, 'read'),
    shareToken: await createKey(base, siteId, 'share'),
  }
}

/** GET from the test process (not the browser) with a token: the API's own answer. */
export async function apiGet<T>(base: string, pathAndQuery: string, token: string): Promise<T> {
  const res = await fetch(`${base}${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } })
  expect(res.status, `${pathAndQuery}: ${await res.clone().text()}`).toBe(200)
  return (await res.json()) as T
}

/** Every website-API request the page made, newest last (path + query). */
export function recordRequests(page: Page): string[] {
  const seen: string[] = []
  page.on('request', (req) => {
    const u = new URL(req.url())
    if (u.pathname.startsWith('/api/websites/')) seen.push(u.pathname + u.search)
  })
  return seen
}

/** The newest request to `endpoint` (e.g. `/stats`) whose query has all of `has`. */
export function lastRequest(
  seen: string[],
  siteId: string,
  endpoint: string,
  has: Record<string, string> = {},
) {
  const prefix = `/api/websites/${siteId}${endpoint}?`
  const hit = seen.findLast((p) => {
    if (!p.startsWith(prefix)) return false
    const q = new URLSearchParams(p.slice(prefix.length))
    return Object.entries(has).every(([k, v]) => q.get(k) === v)
  })
  expect(hit, `the page asked for ${endpoint} ${JSON.stringify(has)}`).toBeDefined()
  return hit!
}

/**
 * What in-page functions read (this project's types have no DOM library). Functions, not strings:
 * the dashboard's CSP forbids eval, which Playwright uses for string predicates.
 */
export interface InPage {
  document: {
    documentElement: { dataset: Record<string, string | undefined>; scrollWidth: number }
    activeElement: { id: string; textContent: string | null } | null
  }
  location: { search: string }
  getComputedStyle(el: object): { backgroundColor: string }
}

/** Waits until the site page shows every answer for its current URL. */
export async function waitReady(page: Page): Promise<number> {
  try {
    await page.waitForFunction(
      () => {
        const w = globalThis as unknown as InPage
        return w.document.documentElement.dataset.readyFor === w.location.search
      },
      null,
      { timeout: 30_000 },
    )
  } catch (err) {
    // What was still missing, for the failure message and a look at the page.
    await page.screenshot({ path: path.join(ARTIFACTS, 'not-ready.png'), fullPage: true })
    const busy = await page
      .locator('[aria-busy="true"]')
      .evaluateAll((els) => els.map((e) => e.outerHTML.slice(0, 200)))
    throw new Error(`the site page did not become ready at ${page.url()}; busy: ${busy.join(' | ')}`, {
      cause: err,
    })
  }
  return Number(
    await page.evaluate(() => (globalThis as unknown as InPage).document.documentElement.dataset.ready),
  )
}

/** `YYYY-MM-DD` or `YYYY-MM-DD HH` of a moment in TIMEZONE (the chart's bucket keys). */
export function zonedKey(ms: number, unit: 'hour' | 'day'): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: TIMEZONE,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  )
  const day = `${parts.year}-${parts.month}-${parts.day}`
  return unit === 'day' ? day : `${day} ${parts.hour}`
}
