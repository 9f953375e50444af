/**
 * The embedded default on SQLite as a process (`node --import tsx src/main.ts`, no DATABASE_URL):
 * - the catalog and sites live in `<FLOE_DATA_DIR>/floe.sqlite` (no PGlite folder is made);
 * - a second Floe on the same data folder fails at start with a message naming the file;
 * - SIGKILL after a commit and after more events were acknowledged (in the WAL only): the next
 *   start finds the site and the committed snapshot in the file, replays the WAL, and every
 *   acknowledged event is in the table exactly once (read with icebird).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { DatabaseSync } from 'node:sqlite'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { installFetchShim, readWithIcebird } from './readback.ts'
import {
  ADMIN_TOKEN,
  START_NODE_OPTIONS,
  adminFlush,
  eventBody,
  freePort,
  markersOf,
  send,
  spawnFloe,
} from './support.ts'

const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

describe('embedded SQLite', () => {
  it(
    'is the default, is locked against a second process, and survives SIGKILL',
    { timeout: 120_000 },
    async () => {
      installFetchShim()
      const dataDir = mkdtempSync(path.join(tmpdir(), 'floe-embedded-sqlite-'))
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }))
      const env = () => ({
        PORT: String(0),
        HOST: '127.0.0.1',
        FLOE_DATA_DIR: dataDir,
        ADMIN_TOKEN,
        ICEBERG_FLUSH_INTERVAL_SECONDS: '3600',
        RATE_LIMIT_IP_PER_MINUTE: '0',
      })
      const first = await spawnFloe({ ...env(), PORT: String(await freePort()) })
      cleanups.push(() => void first.child.kill('SIGKILL'))
      expect(existsSync(path.join(dataDir, 'floe.sqlite'))).toBe(true)
      expect(existsSync(path.join(dataDir, 'pglite'))).toBe(false)

      const created = await fetch(`${first.base}/api/sites`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'embedded', domains: ['example.com'] }),
      })
      expect(created.status).toBe(201)
      const siteId = ((await created.json()) as { id: string }).id
      const committed = ['c-0', 'c-1', 'c-2']
      for (const m of committed) expect(await send(first.base, eventBody(siteId, m))).toBe(200)
      expect((await adminFlush(first.base)).status).toBe(200)
      const walOnly = ['w-0', 'w-1', 'w-2']
      for (const m of walOnly) expect(await send(first.base, eventBody(siteId, m))).toBe(200)

      // A second process on the same folder: refused at start, naming the file.
      const second = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: { ...process.env, NODE_OPTIONS: START_NODE_OPTIONS, ...env(), PORT: String(await freePort()) },
        encoding: 'utf8',
        timeout: 60_000,
      })
      expect(second.status).toBe(1)
      expect(second.stderr).toContain(`${path.join(dataDir, 'floe.sqlite')} is in use by another process`)

      first.child.kill('SIGKILL')
      await first.exited

      const again = await spawnFloe({ ...env(), PORT: String(await freePort()) })
      cleanups.push(() => void again.child.kill('SIGKILL'))
      // The site is in the file: sends are accepted without re-creating it.
      expect(await send(again.base, eventBody(siteId, 'after-0'))).toBe(200)
      expect((await adminFlush(again.base)).status).toBe(200)
      again.child.kill('SIGTERM')
      expect(await again.exited).toBe(0)
      // The table as the file's pointer has it, read with SQLite itself and icebird.
      const db = new DatabaseSync(path.join(dataDir, 'floe.sqlite'), { readOnly: true })
      const row = db
        .prepare("SELECT metadata_location FROM iceberg_tables WHERE table_name = 'pa_events'")
        .get() as { metadata_location: string }
      db.close()
      const landed = markersOf(await readWithIcebird(row.metadata_location)).sort()
      expect(landed).toEqual([...committed, ...walOnly, 'after-0'].sort())
    },
  )
})
