/**
 * Crash test: Floe runs as a child process (`node --import tsx src/main.ts`) under continuous load
 * and is killed with SIGKILL at random points, several rounds; after a restart and a flush, every
 * event that got a 2xx is in pa_events exactly once, and no event landed twice.
 * The longer variant is bench/crash-soak.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import {
  adminFlush,
  checkLanded,
  createSite,
  floeEnv,
  freePort,
  LoadGenerator,
  spawnFloe,
  startServices,
  type FloeProcess,
  type Services,
} from './support.ts'

const ROUNDS = Number(process.env.FLOE_CRASH_ROUNDS ?? 3)

let services: Services
let env: Record<string, string>
let current: FloeProcess | undefined

beforeAll(async () => {
  services = await startServices('floe_crash')
  env = {
    ...floeEnv({ databaseUrl: services.db.url, s3: services.s3, port: await freePort() }),
    ICEBERG_FLUSH_BATCH_SIZE: '40',
    ICEBERG_FLUSH_INTERVAL_SECONDS: '1',
  }
})

afterAll(async () => {
  current?.child.kill('SIGKILL')
  await services?.close()
  if (env) rmSync(env.FLOE_DATA_DIR, { recursive: true, force: true })
})

describe('SIGKILL at random points under load', () => {
  it(
    `every acknowledged event lands exactly once after ${ROUNDS} crashes`,
    { timeout: 150_000 },
    async () => {
      const siteId = await createSite(services.db.url)
      const base = `http://127.0.0.1:${env.PORT}`
      const load = new LoadGenerator(() => base, siteId, 'crash', 6)
      try {
        for (let round = 0; round < ROUNDS; round++) {
          current = await spawnFloe(env)
          const before = load.acked.length
          // Random point: some time into the load, so kills land during WAL writes, flushes and commits.
          const until = Date.now() + 400 + Math.random() * 1200
          while (Date.now() < until || load.acked.length < before + 20)
            await new Promise((r) => setTimeout(r, 20))
          current.child.kill('SIGKILL')
          await current.exited
        }
      } finally {
        await load.stop()
      }
      expect(load.acked.length).toBeGreaterThan(ROUNDS * 20)

      current = await spawnFloe(env) // recovery replays what the WAL holds beyond the committed seqs
      const flushed = await adminFlush(current.base)
      expect(flushed.status).toBe(200)
      const { lost, duplicated } = await checkLanded(services.db.url, load.acked)
      expect(duplicated).toEqual([])
      expect(lost).toEqual([])

      current.child.kill('SIGTERM')
      expect(await current.exited).toBe(0)
      current = undefined
    },
  )
})
