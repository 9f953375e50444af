/**
 * The quick start as a new user follows it: `npm start`'s own command line loads `./.env`, logs
 * that the admin API is disabled when ADMIN_TOKEN is unset, and `.env.example` copied to `.env`
 * is a valid configuration whose PUBLIC_URL follows PORT. The README sets ADMIN_TOKEN before
 * `npm start`.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseEnv } from 'node:util'
import { loadConfig } from '../../src/config.ts'
import { createTestDatabase } from '../support/pg.ts'
import { freePort } from './support.ts'

const ROOT = path.resolve('.')
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }
const cleanups: Array<() => unknown> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

describe('quick start', () => {
  it('.env.example as .env is a valid configuration, and PUBLIC_URL follows PORT', () => {
    const env = parseEnv(readFileSync('.env.example', 'utf8'))
    expect(loadConfig(env).publicUrl).toBe('http://localhost:8080')
    expect(loadConfig({ ...env, PORT: '9090' }).publicUrl).toBe('http://localhost:9090')
  })

  it('the README exports ADMIN_TOKEN before `npm start`', () => {
    const readme = readFileSync('README.md', 'utf8')
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Tests'))
    const exported = quick.indexOf('export ADMIN_TOKEN=')
    expect(exported).toBeGreaterThan(-1)
    expect(exported).toBeLessThan(quick.indexOf('npm start'))
  })

  it('`npm start` loads ./.env and logs that the admin API is disabled without ADMIN_TOKEN', async () => {
    const db = await createTestDatabase('floe_quick')
    cleanups.push(() => db.drop())
    // A directory standing in for the project root: its own .env, the project's code linked in.
    const dir = mkdtempSync(path.join(tmpdir(), 'floe-quick-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    for (const name of ['src', 'node_modules', 'package.json', 'schemas', 'catalog'])
      symlinkSync(path.join(ROOT, name), path.join(dir, name))
    const port = await freePort()
    writeFileSync(
      path.join(dir, '.env'),
      [
        `PORT=${port}`,
        'HOST=127.0.0.1',
        `DATABASE_URL=${db.url}`,
        'APP_SECRET=quick-start-secret',
        `FLOE_DATA_DIR=${path.join(dir, 'data')}`,
        'LOG_LEVEL=info',
        'ADMIN_TOKEN=',
      ].join('\n'),
    )
    // The environment of a new shell: none of Floe's settings, npm's PATH (node_modules/.bin first).
    const env: Record<string, string> = {
      PATH: `${path.join(ROOT, 'node_modules/.bin')}:${process.env.PATH}`,
    }
    if (process.env.HOME) env.HOME = process.env.HOME
    const child = spawn('sh', ['-c', pkg.scripts.start!], {
      cwd: dir,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    cleanups.push(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        /* gone */
      }
    })
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
    const until = Date.now() + 45_000
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`npm start's command exited with ${child.exitCode}: ${out}`)
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
      if (ok) break
      if (Date.now() > until) throw new Error(`Floe did not listen on .env's PORT ${port}: ${out}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    // The warning is logged at start-up, but its line can reach the pipe after /healthz answers
    // (a busy machine): wait for it rather than read once.
    const findWarn = () =>
      out
        .slice(0, out.lastIndexOf('\n') + 1) // whole lines only
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .find((l) => /ADMIN_TOKEN/.test(l.msg))
    const warnUntil = Date.now() + 10_000
    while (!findWarn() && Date.now() < warnUntil) await new Promise((r) => setTimeout(r, 50))
    const warn = findWarn()
    expect(warn).toMatchObject({ level: 40 })
    expect(warn!.msg).toMatch(/ADMIN_TOKEN is unset: the admin API .* is disabled/)
    const res = await fetch(`http://127.0.0.1:${port}/api/sites`, { headers: { authorization: 'Bearer x' } })
    expect(res.status).toBe(403)
    process.kill(-child.pid!, 'SIGTERM')
    await new Promise((r) => child.once('exit', r))
  })
})
