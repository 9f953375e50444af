/**
 * Umami's server-side client, `@umami/node` (npm, unchanged), sending to a real Floe (createApp,
 * real Postgres, s3rver warehouse): a pageview, a custom event with data and an identify call land
 * in pa_events and pa_sessions, read back with icebird.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Umami } from '@umami/node'
import { rmSync } from 'node:fs'
import type { FloeApp } from '../../src/app.ts'
import { createSite, floeEnv, freePort, startInProcess, startServices, type Services } from './support.ts'
import { metadataLocation, readWithIcebird } from './readback.ts'

let services: Services
let app: FloeApp | undefined
let base: string
let dataDir: string

beforeAll(async () => {
  services = await startServices('v1_events_umami_node')
  const env = floeEnv({ databaseUrl: services.db.url, s3: services.s3, port: await freePort() })
  dataDir = env.FLOE_DATA_DIR
  ;({ app, base } = await startInProcess(env))
})

afterAll(async () => {
  await app?.close()
  await services?.close()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

describe('@umami/node', () => {
  it(
    'track (pageview, custom event with data) and identify land as Umami would store them',
    { timeout: 60_000 },
    async () => {
      const siteId = await createSite(services.db.url)
      const umami = new Umami({ hostUrl: base, websiteId: siteId })
      const answers = [
        await umami.track({
          hostname: 'example.com',
          url: '/pricing?utm_source=newsletter',
          title: 'Pricing',
          referrer: 'https://www.google.com/',
          language: 'en-US',
          screen: '1440x900',
        }),
        await umami.track('signup', { plan: 'pro', seats: 3 }),
        await umami.identify({ company: 'ACME', tier: 'gold' }),
      ]
      for (const res of answers) {
        expect(res.status).toBe(200)
        expect(await res.json()).toHaveProperty('sessionId')
      }
      await app!.flush()

      const events = await readWithIcebird(await metadataLocation(services.db.url, 'pa_events'))
      expect(events).toHaveLength(2)
      const pageview = events.find((e) => e.event_type === 1)!
      expect(pageview).toMatchObject({
        site_id: siteId,
        url_path: '/pricing',
        page_title: 'Pricing',
        referrer_domain: 'google.com',
        utm_source: 'newsletter',
        language: 'en-US',
        screen: '1440x900',
        source: 'umami',
      })
      const signup = events.find((e) => e.event_type === 2)!
      expect(signup).toMatchObject({ event_name: 'signup', event_data: { plan: 'pro', seats: '3' } })
      const sessions = await readWithIcebird(await metadataLocation(services.db.url, 'pa_sessions'))
      expect(
        sessions.some((s) => (s.session_data as Record<string, string> | null)?.company === 'ACME'),
      ).toBe(true)
      expect(new Set(sessions.map((s) => s.session_id))).toEqual(new Set([pageview.session_id]))
    },
  )
})
