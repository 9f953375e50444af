/**
 * End-to-end helpers: a site in the real database, Umami-shaped requests, a Floe child process
 * (`node --import tsx src/main.ts`, exactly what `npm start` runs) and a load generator that
 * remembers which events got a 2xx (each carries a unique marker in its URL path, since
 * /api/send does not return event ids).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino, { type LevelWithSilent } from 'pino'
import { createApp, type FloeApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { PgSql } from '../../src/storage/index.ts'
import { SiteStore } from '../../src/sites/store.ts'
import { createTestDatabase } from '../support/pg.ts'
import { freePort, startTestS3, type TestS3 } from '../support/s3.ts'
import { installFetchShim, metadataLocation, readWithIcebird } from './readback.ts'

export const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'
export const ADMIN_TOKEN = 'e2e-admin-token'

/** The real services an end-to-end run needs: a fresh Postgres database and an s3rver process. */
export interface Services {
  db: { url: string; drop: () => Promise<void> }
  s3: TestS3
  /** Stops the S3 server, then drops the database. */
  close(): Promise<void>
}

/** Starts both services and points the read-back fetch shim (readback.ts) at the S3 server. */
export async function startServices(dbPrefix: string): Promise<Services> {
  const db = await createTestDatabase(dbPrefix)
  const s3 = await startTestS3()
  installFetchShim(s3.endpoint)
  return {
    db,
    s3,
    async close() {
      await s3.stop()
      await db.drop()
    },
  }
}

/** Floe in this process (createApp, as src/main.ts builds it), started and listening on a free port. */
export async function startInProcess(
  env: FloeEnv,
  level: LevelWithSilent = 'warn',
): Promise<{ app: FloeApp; base: string }> {
  const app = await createApp(loadConfig(env), { logger: pino({ level }) })
  await app.start()
  return { app, base: await app.server.listen({ port: 0, host: '127.0.0.1' }) }
}

export async function createSite(databaseUrl: string): Promise<string> {
  const sql = new PgSql(databaseUrl)
  try {
    const store = await SiteStore.open(sql)
    return (await store.create({ name: 'e2e', domains: ['example.com'] })).id
  } finally {
    await sql.close()
  }
}

/** Env for a Floe process on the test Postgres and S3 server. */
export type FloeEnv = Record<string, string> & { PORT: string; FLOE_DATA_DIR: string }

export function floeEnv(opts: { databaseUrl: string; s3: TestS3; port: number; dataDir?: string }): FloeEnv {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'floe-e2e-'))
  return {
    PORT: String(opts.port),
    HOST: '127.0.0.1',
    DATABASE_URL: opts.databaseUrl,
    APP_SECRET: 'e2e-secret',
    ADMIN_TOKEN,
    FLOE_DATA_DIR: dataDir,
    ICEBERG_S3_BUCKET: opts.s3.bucket,
    ICEBERG_S3_ENDPOINT: opts.s3.endpoint,
    ICEBERG_S3_PREFIX: 'warehouse/',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: opts.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: opts.s3.secretAccessKey,
    RATE_LIMIT_IP_PER_MINUTE: '0',
    RATE_LIMIT_SITE_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
  }
}

export function eventBody(siteId: string, marker: string): string {
  return JSON.stringify({
    type: 'event',
    payload: {
      website: siteId,
      hostname: 'example.com',
      url: `/p/${marker}`,
      title: 'e2e',
      language: 'en-US',
      screen: '1920x1080',
      data: { marker },
    },
  })
}

export async function send(
  base: string,
  body: string,
  ip = '203.0.113.7',
  path = '/api/send',
): Promise<number> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': UA, 'x-forwarded-for': ip },
    body,
  })
  await res.arrayBuffer()
  return res.status
}

export async function adminFlush(base: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}/api/admin/flush`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  })
  return { status: res.status, body: await res.json() }
}

export interface FloeProcess {
  base: string
  port: number
  child: ChildProcess
  stderr: () => string
  exited: Promise<number | null>
}

/** What `npm start` puts in NODE_OPTIONS: V8's old space bounded at 512 MB. */
export const START_NODE_OPTIONS = '--max-old-space-size=512'

export async function spawnFloe(
  env: Record<string, string>,
  opts: { startTimeoutMs?: number; nodeArgs?: string[] } = {},
): Promise<FloeProcess> {
  const port = Number(env.PORT)
  // nodeArgs: flags Node refuses in NODE_OPTIONS (benches pass `--cpu-prof`).
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'], {
    // The heap bound `npm start` sets (README, Memory), unless the caller gives its own.
    env: { NODE_OPTIONS: START_NODE_OPTIONS, ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: process.cwd(),
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const base = `http://127.0.0.1:${port}`
  // 60 s: a cold tsx cache on a loaded 2-core CI machine (load average 24) took over 30 s to listen.
  const until = Date.now() + (opts.startTimeoutMs ?? 60_000)
  for (;;) {
    if (child.exitCode !== null) throw new Error(`floe exited with ${child.exitCode}: ${stderr}`)
    try {
      if ((await fetch(`${base}/healthz`)).ok) break
    } catch {
      /* not listening yet */
    }
    if (Date.now() > until) throw new Error(`floe did not start: ${stderr}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return { base, port, child, stderr: () => stderr, exited }
}

export { freePort }

/**
 * Sends events with unique markers from `concurrency` loops until stopped; records the markers
 * that got a 2xx and counts other answers. Connection errors (server killed) are expected.
 */
export class LoadGenerator {
  readonly acked: string[] = []
  readonly statuses = new Map<number | string, number>()
  private running = true
  private loops: Promise<void>[] = []
  private n = 0

  constructor(
    private readonly target: () => string,
    private readonly siteId: string,
    private readonly prefix: string,
    concurrency = 4,
  ) {
    for (let i = 0; i < concurrency; i++) this.loops.push(this.loop())
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const marker = `${this.prefix}-${this.n++}`
      let status: number | string
      try {
        status = await send(this.target(), eventBody(this.siteId, marker))
      } catch {
        status = 'error' // server down (killed, restarting): back off so the restart gets the CPU
        await new Promise((r) => setTimeout(r, 200))
      }
      this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1)
      if (typeof status === 'number' && status >= 200 && status < 300) this.acked.push(marker)
      else if (status === 503) await new Promise((r) => setTimeout(r, 50))
    }
  }

  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.loops)
  }
}

/** Markers of `pa_events` rows (from `url_path` = `/p/<marker>`). */
export function markersOf(rows: Record<string, unknown>[]): string[] {
  return rows.map((r) => String(r.url_path).replace(/^\/p\//, ''))
}

/**
 * Reads pa_events back with icebird (through the catalog's current metadata location) and compares
 * with the acknowledged markers: `lost` were acknowledged but are missing, `duplicated` landed twice.
 */
export async function checkLanded(
  databaseUrl: string,
  acked: string[],
): Promise<{ location: string; landed: string[]; lost: string[]; duplicated: string[] }> {
  const location = await metadataLocation(databaseUrl, 'pa_events')
  const landed = markersOf(await readWithIcebird(location))
  const set = new Set(landed)
  return { location, landed, lost: acked.filter((m) => !set.has(m)), duplicated: duplicates(landed) }
}

export function duplicates(xs: string[]): string[] {
  const seen = new Set<string>()
  const dup = new Set<string>()
  for (const x of xs) (seen.has(x) ? dup : seen).add(x)
  return [...dup]
}
