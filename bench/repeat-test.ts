/**
 * Runs one test file many times, each run in a fresh vitest worker, optionally beside CPU hogs, and
 * prints how many runs passed. For races that show only under load (the WAL lock's takers, say):
 *   REPEAT_RUNS=200 REPEAT_HOGS=1 npx tsx bench/repeat-test.ts test/buffer/wal-lock.test.ts
 * One vitest instance serves every run, so the count is not bought with 200 CLI start-ups.
 */
import { spawn } from 'node:child_process'
import { createVitest } from 'vitest/node'

const file = process.argv[2]
if (!file) throw new Error('usage: bench/repeat-test.ts <test file>')
const runs = Number(process.env.REPEAT_RUNS ?? 200)
const hogs = Number(process.env.REPEAT_HOGS ?? 1)

// Busy loops in their own processes: the scheduler interleaves the test's async steps with them.
const hogProcs = Array.from({ length: hogs }, () =>
  spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }),
)
const vitest = await createVitest('test', { watch: false, reporters: ['dot'] })
await vitest.init()
let passed = 0
const failures: string[] = []
const started = Date.now()
try {
  const specs = await vitest.globTestSpecifications([file])
  if (specs.length === 0) throw new Error(`no test file matches ${file}`)
  for (let i = 1; i <= runs; i++) {
    const result = await vitest.runTestSpecifications(specs)
    const bad = result.testModules.flatMap((m) =>
      [...m.children.allTests()].filter((t) => t.result().state === 'failed').map((t) => t.fullName),
    )
    if (bad.length === 0 && result.unhandledErrors.length === 0 && result.testModules.every((m) => m.ok()))
      passed++
    else failures.push(`run ${i}: ${bad.join('; ') || result.unhandledErrors.map(String).join('; ')}`)
    if (i % 20 === 0) console.log(`${i} runs: ${passed} passed, load ${(await loadAvg()).toFixed(1)}`)
  }
} finally {
  for (const h of hogProcs) h.kill()
  await vitest.close()
}
console.log(
  `${file}: ${passed} of ${runs} runs passed on Node ${process.version} with ${hogs} CPU hog(s), ` +
    `${((Date.now() - started) / 1000).toFixed(0)} s`,
)
for (const f of failures) console.log(`  FAILED ${f}`)
process.exit(passed === runs ? 0 : 1)

async function loadAvg(): Promise<number> {
  const { loadavg } = await import('node:os')
  return loadavg()[0] ?? 0
}
