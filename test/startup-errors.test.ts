/**
 * Issue 9 item 11: every start-up failure names the setting, the address and the underlying
 * cause in one line. The real process is spawned (`node --import tsx src/main.ts`).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase } from './support/pg.ts'

let dir: string
let db: Awaited<ReturnType<typeof createTestDatabase>>
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'floe-startup-'))
  db = await createTestDatabase('floe_startup')
})
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  await db?.drop()
})

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as net.AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, FLOE_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr })
    })
  })
}

describe('start-up failures', () => {
  it('an unreachable REST catalog: one line with ICEBERG_CATALOG_URI, its address and the cause', async () => {
    const port = await closedPort()
    const { code, stderr } = await start({
      DATABASE_URL: db.url,
      APP_SECRET: 's',
      ICEBERG_CATALOG_TYPE: 'rest',
      ICEBERG_CATALOG_URI: `http://127.0.0.1:${port}/catalog`,
    })
    expect(code).toBe(1)
    const lines = stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('floe:'))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(`ICEBERG_CATALOG_URI=http://127.0.0.1:${port}/catalog`)
    expect(lines[0]).toMatch(new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`))
    expect(stderr).not.toMatch(/\n\s+at /) // no stack
  }, 40_000)

  it('DATABASE_URL to a closed port: one line naming DATABASE_URL, the address and ECONNREFUSED', async () => {
    const port = await closedPort()
    const { code, stderr } = await start({
      DATABASE_URL: `postgres://floe:secret@127.0.0.1:${port}/floe`,
      APP_SECRET: 's',
    })
    expect(code).toBe(1)
    const lines = stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^floe: failed to start: cannot reach the Postgres database \(DATABASE_URL=/)
    expect(lines[0]).toContain(`127.0.0.1:${port}`)
    expect(lines[0]).toContain('ECONNREFUSED')
    expect(lines[0]).not.toContain('secret') // the password is redacted
  }, 40_000)
})
