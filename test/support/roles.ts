/**
 * What the roles tests (FLOE_ROLE=receiver / writer over a log: test/e2e/nats-roles.test.ts,
 * test/log/kafka-roles.test.ts) share: their Floe settings, the children they start and SIGKILL,
 * the paced load on several sites, and the committed table metadata they check positions in. The
 * scenario itself (who joins, who is killed when) stays in each test, since the logs differ there.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  eventBody,
  floeEnv,
  freePort,
  send,
  spawnFloe,
  type FloeProcess,
  type Services,
} from '../e2e/support.ts'
import { metadataLocation } from '../e2e/readback.ts'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `ok` every 50 ms; throws naming `what` after `ms`. */
export async function until(ok: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await sleep(50)
  }
}

/**
 * The settings both roles tests run with, besides the log's own: four partitions (six sites use
 * them all), a flush every 40 rows or 1 s (so a SIGKILL lands mid-commit or close to it) and no
 * maintenance (its commits would only slow the run).
 */
export function rolesEnv(services: Services): Record<string, string> {
  return {
    ...floeEnv({ databaseUrl: services.db.url, s3: services.s3, port: 0 }),
    FLOE_LOG_PARTITIONS: '4',
    ICEBERG_FLUSH_BATCH_SIZE: '40',
    ICEBERG_FLUSH_INTERVAL_SECONDS: '1',
    FLOE_MAINTENANCE_INTERVAL_SECONDS: '0',
  }
}

/** Floe children of one test, each with its own data folder; `cleanup` kills what is left. */
export class RoleChildren {
  readonly processes: FloeProcess[] = []
  private readonly dirs: string[] = []
  /**
   * @param dirPrefix data folders are `<dirPrefix>-<role>-…` in the OS temp dir
   * @param startTimeoutMs generous: on a loaded 2-core machine a cold tsx start alone has taken
   *   over a minute
   */
  constructor(
    private readonly dirPrefix: string,
    private readonly startTimeoutMs: number,
  ) {}

  /** A fresh data folder (also for a Floe started in this process), removed by `cleanup`. */
  dataDir(role: 'receiver' | 'writer'): string {
    const dir = mkdtempSync(path.join(tmpdir(), `${this.dirPrefix}-${role}-`))
    this.dirs.push(dir)
    return dir
  }

  async start(role: 'receiver' | 'writer', env: Record<string, string>): Promise<FloeProcess> {
    const p = await spawnFloe(
      { ...env, FLOE_ROLE: role, PORT: String(await freePort()), FLOE_DATA_DIR: this.dataDir(role) },
      { startTimeoutMs: this.startTimeoutMs },
    )
    this.processes.push(p)
    return p
  }

  cleanup(): void {
    for (const p of this.processes) if (p.child.exitCode === null) p.child.kill('SIGKILL')
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true })
  }
}

export async function kill(p: FloeProcess): Promise<void> {
  p.child.kill('SIGKILL')
  await p.exited
}

/**
 * One loop per site, sending the next event 20 ms after an answer: steady load that leaves the CPU
 * to the processes starting beside it on a shared 2-core machine. Records the markers acked (2xx).
 */
export class PacedLoad {
  readonly acked: string[] = []
  readonly statuses = new Map<number | string, number>()
  private running = true
  private readonly done: Promise<void>
  constructor(target: () => string, siteId: string, prefix: string) {
    this.done = (async () => {
      for (let n = 0; this.running; n++) {
        const marker = `${prefix}-${n}`
        let status: number | string
        try {
          status = await send(target(), eventBody(siteId, marker))
        } catch {
          status = 'error' // the receiver was killed: the request got no answer
        }
        this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1)
        if (typeof status === 'number' && status >= 200 && status < 300) this.acked.push(marker)
        await sleep(status === 200 ? 20 : 200)
      }
    })()
  }
  async stop(): Promise<void> {
    this.running = false
    await this.done
  }
}

/** A PacedLoad per site (markers `<prefix><i>-<n>`), counted together. */
export class SiteLoads {
  readonly loads: PacedLoad[]
  constructor(target: () => string, sites: readonly string[], prefix: string) {
    this.loads = sites.map((s, i) => new PacedLoad(target, s, `${prefix}${i}`))
  }

  /** Events acknowledged so far, all sites together. */
  readonly acked = (): number => this.loads.reduce((n, l) => n + l.acked.length, 0)

  /** Waits until `n` events are acknowledged; after 60 s throws with the answers seen per site. */
  readonly waitForAcks = async (n: number): Promise<void> => {
    const end = Date.now() + 60_000
    while (this.acked() < n) {
      if (Date.now() > end)
        throw new Error(
          `only ${this.acked()} of ${n} acknowledged: ${JSON.stringify(this.loads.map((l) => [...l.statuses]))}`,
        )
      await sleep(20)
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.loads.map((l) => l.stop()))
  }

  /** Every acknowledged marker. */
  all(): string[] {
    return this.loads.flatMap((l) => l.acked)
  }
}

/** A table's current metadata file, read straight from the test S3 server. */
export async function tableMetadata(
  services: Services,
  table: string,
): Promise<{ properties: Record<string, string>; snapshots: { summary: Record<string, string> }[] }> {
  const url = (await metadataLocation(services.db.url, table)).replace(
    /^s3:\/\/([^/]+)/,
    `${services.s3.endpoint}/$1`,
  )
  return (await (await fetch(url)).json()) as {
    properties: Record<string, string>
    snapshots: { summary: Record<string, string> }[]
  }
}
