/**
 * Breaks V8 CPU profiles (`node --cpu-prof`, e.g. `BENCH_PROFILE=/tmp/prof npx tsx bench/send.ts`)
 * down by where the time goes: self time per Floe stage (`src/<folder>`), per npm package, Node's
 * own code, GC, and the native rest; the same charged to the nearest Floe or package frame that
 * called it (so a syscall counts for the stage that made it); then the heaviest functions. Idle time is left out, so the
 * shares are of the CPU the process used.
 *
 * Run: npx tsx bench/profile-summary.ts /tmp/prof/full.cpuprofile [more.cpuprofile …]
 *      (PROFILE_TOP=25 functions by default)
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
}

const TOP = Number(process.env.PROFILE_TOP ?? 25)

function category(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC'
  if (fn === '(program)') return 'native (program)'
  if (!url) return `native ${fn}`
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (nm) return `npm ${nm[1]}`
  const src = /\/src\/([^/]+)\//.exec(url) ?? /\/src\/([^/]+)\.ts/.exec(url)
  if (src) return `floe src/${src[1]}`
  if (url.startsWith('node:')) return 'node internals'
  return path.basename(url)
}

for (const file of process.argv.slice(2)) {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(prof.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  for (let i = 0; i < prof.samples.length; i++)
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0))
  const parent = new Map<number, number>()
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  /** The stage that asked for this work: the nearest frame (itself or a caller) in Floe or a package. */
  const owner = (id: number): string => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const { url, functionName } = byId.get(cur)!.callFrame
      const c = category(url, functionName)
      if (c.startsWith('floe ') || c.startsWith('npm ')) return c
    }
    return category(byId.get(id)!.callFrame.url, byId.get(id)!.callFrame.functionName)
  }
  const owners = new Map<string, number>()
  let total = 0
  const cats = new Map<string, number>()
  const fns = new Map<string, number>()
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    if (functionName === '(idle)') continue
    total += us
    const c = category(url, functionName)
    cats.set(c, (cats.get(c) ?? 0) + us)
    const o = owner(id)
    owners.set(o, (owners.get(o) ?? 0) + us)
    const f = `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''}`
    fns.set(f, (fns.get(f) ?? 0) + us)
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`
  console.log(`\n${file}: ${(total / 1e6).toFixed(2)} s of CPU sampled (idle left out)`)
  for (const [c, us] of [...cats].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${pct(us)}  ${c}`)
  console.log(
    '  by the stage that called it (Node and native time charged to the nearest Floe or package frame):',
  )
  for (const [c, us] of [...owners].sort((a, b) => b[1] - a[1]).slice(0, 20))
    console.log(`  ${pct(us)}  ${c}`)
  console.log('  heaviest functions (self time):')
  for (const [f, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${pct(us)}  ${f}`)
}
