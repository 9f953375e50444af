/**
 * Commit latency per catalog type, as ratios to the default (jdbc on the local PostgreSQL) measured
 * in the same run: N sequential appends of one snapshot each (catalog-level: next metadata built by
 * the write side's builders, empty manifest list), plus load-table latency. Uses the contract
 * suite's set-ups (test/commit/catalogs.ts), so Glue is its recorded-behaviour double (an
 * in-process HTTP server) — its figure is the client's and the protocol's cost, not AWS's.
 *
 * Run: npx tsx bench/catalog-commit.ts     (BENCH_COMMITS=100)
 */
import { setups } from '../test/commit/catalogs.ts'
import { newTableMetadata, snapshotId, withAppend } from '../test/commit/fixtures.ts'
import { commitAppend } from '../src/table/append-commit.ts'

const N = Number(process.env.BENCH_COMMITS ?? 100)
const WARMUP = 10

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

interface Figures {
  label: string
  commitMs: number
  loadMs: number
}

const results: Figures[] = []
for (const [label, setup] of setups) {
  const env = await setup()
  try {
    const catalog = env.open()
    const ns = ['bench']
    const id = { namespace: ns, name: 'commits' }
    await catalog.createNamespaceIfAbsent(ns)
    let table = await catalog.createTableIfAbsent(id, newTableMetadata(`${env.warehouse}/bench/commits`))
    const commits: number[] = []
    const loads: number[] = []
    // The first WARMUP rounds are not counted (JIT, connection pools, TLS-less keep-alive set-up).
    for (let i = 0; i < N + WARMUP; i++) {
      const sid = snapshotId()
      const metadata = await withAppend(env.io, table, sid) // not timed: the write side's part
      const t0 = performance.now()
      table = await commitAppend(catalog, id, { base: table, metadata, snapshotId: sid })
      const commitMs = performance.now() - t0
      const t1 = performance.now()
      await catalog.loadTable(id)
      if (i < WARMUP) continue
      commits.push(commitMs)
      loads.push(performance.now() - t1)
    }
    results.push({ label, commitMs: median(commits), loadMs: median(loads) })
  } finally {
    await env.teardown()
  }
}

const ref = results[0]
console.log(`catalog commit latency, ${N} sequential appends each (median); reference = ${ref.label}`)
console.log(`reference: commit ${ref.commitMs.toFixed(2)} ms, load ${ref.loadMs.toFixed(2)} ms`)
for (const r of results) {
  console.log(
    `${r.label.padEnd(90)} commit ${(r.commitMs / ref.commitMs).toFixed(2)}x  load ${(r.loadMs / ref.loadMs).toFixed(2)}x` +
      `  (${r.commitMs.toFixed(2)} / ${r.loadMs.toFixed(2)} ms)`,
  )
}
