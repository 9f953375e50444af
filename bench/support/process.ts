/**
 * What the Floe-process benchmarks (e2e-throughput.ts, v1-events.ts, embedded-memory.ts) share: the
 * load generator, the environment a benchmarked Floe runs with, its memory and CPU as Linux reports
 * them (/proc), the rows its last commit holds, and the median of a few runs.
 */
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { ADMIN_TOKEN } from '../../test/e2e/support.ts'
import { metadataLocation } from '../../test/e2e/readback.ts'

/** The part of autocannon's result the benchmarks read. */
export interface LoadResult {
  requests: { average: number; total: number }
  '2xx': number
  non2xx: number
  errors: number
  duration: number
}

const require = createRequire(import.meta.url)
const autocannon = require('autocannon') as (
  opts: object,
  cb: (err: Error | null, res: LoadResult) => void,
) => unknown

/** Runs autocannon with `opts` (url, connections, duration, requests …) until it is done. */
export function runLoad(opts: object): Promise<LoadResult> {
  return new Promise((resolve, reject) => autocannon(opts, (err, res) => (err ? reject(err) : resolve(res))))
}

/**
 * The settings every benchmarked Floe gets: its port and data folder, no rate limits (the load comes
 * from one address) and warn-level logs (logging each request would be measured too).
 */
export function benchEnv(port: number, dataDir: string): Record<string, string> {
  return {
    PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_TOKEN,
    FLOE_DATA_DIR: dataDir,
    RATE_LIMIT_IP_PER_MINUTE: '0',
    RATE_LIMIT_SITE_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
  }
}

/** A process's resident memory now and its peak (VmHWM), in MB. */
export function memoryMb(pid: number): { rssMb: number; hwmMb: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN)
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 }
}

const CLK_TCK = 100 // Linux USER_HZ: /proc/<pid>/stat times are in 1/100 s

/**
 * CPU time (user + system) a process has used so far, in seconds; with `thread`, that thread's
 * alone (the main thread's id is the process id).
 */
export function cpuSeconds(pid: number, thread?: number): number {
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const stat = readFileSync(thread ? `/proc/${pid}/task/${thread}/stat` : `/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}

/** `total-records` of the current snapshot in a metadata file's text (0 without a snapshot). */
export function currentTotalRecords(metadataJson: string): number {
  const meta = JSON.parse(metadataJson) as {
    'current-snapshot-id': number
    snapshots: { 'snapshot-id': number; summary: Record<string, string> }[]
  }
  const cur = meta.snapshots.find((s) => s['snapshot-id'] === meta['current-snapshot-id'])
  return Number(cur?.summary['total-records'] ?? 0)
}

/** Rows committed to pa_events, as its current metadata file (a local warehouse) says. */
export async function committedRecords(databaseUrl: string): Promise<number> {
  const loc = await metadataLocation(databaseUrl, 'pa_events')
  return currentTotalRecords(readFileSync(new URL(loc), 'utf8'))
}

export const median = (xs: number[]) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
