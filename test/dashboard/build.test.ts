/**
 * The committed dashboard build (dashboard/dist, what Floe serves) is exactly what the source
 * builds to: Vite rebuilds it into a temporary folder and every file must match byte for byte.
 * When this fails, run `npm run build:dashboard` and commit dashboard/dist.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DASHBOARD_DIST } from '../../src/receive/dashboard.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const out = mkdtempSync(path.join(tmpdir(), 'floe-dashboard-build-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort()
}

describe('committed dashboard build', () => {
  it('equals a fresh build of dashboard/ byte for byte', () => {
    execFileSync(
      path.join(ROOT, 'node_modules/.bin/vite'),
      ['build', '--config', 'dashboard/vite.config.ts', '--logLevel', 'error'],
      {
        cwd: ROOT,
        // NODE_ENV as `npm run build:dashboard` has it (vitest sets it to "test", which changes the bundle).
        env: { ...process.env, NODE_ENV: 'production', FLOE_DASHBOARD_OUT_DIR: out },
        stdio: 'pipe',
      },
    )
    const fresh = files(out)
    expect(fresh).toContain('index.html')
    expect(files(DASHBOARD_DIST), 'run `npm run build:dashboard` and commit dashboard/dist').toEqual(fresh)
    for (const f of fresh)
      expect(readFileSync(path.join(DASHBOARD_DIST, f)).equals(readFileSync(path.join(out, f))), f).toBe(true)
  }, 120_000)
})
