/**
 * The WAL directory lock: a lock left behind is taken over at once (or Floe would never start
 * again), a live owner's never (two processes would share one writer id).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { promises as fsp, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ConfigError } from '../../src/errors.ts'
import { currentOwner, lockWalDir, processStart, type LockOwner } from '../../src/buffer/wal-lock.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function walDirWithLock(owner: Partial<LockOwner> | number, ageMs = 0): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'floe-lock-'))
  dirs.push(dir)
  const file = path.join(dir, 'LOCK')
  writeFileSync(file, JSON.stringify(typeof owner === 'number' ? owner : { ...currentOwner(), ...owner }))
  const t = new Date(Date.now() - ageMs)
  utimesSync(file, t, t)
  return dir
}

async function takesOver(dir: string, watchMs = 300): Promise<boolean> {
  try {
    const lock = await lockWalDir(dir, { watchMs })
    expect(JSON.parse(readFileSync(path.join(dir, 'LOCK'), 'utf8')).token).toBe(lock.owner.token)
    await lock.release()
    return true
  } catch (err) {
    if (err instanceof ConfigError && err.variable === 'FLOE_WAL_DIR') return false
    throw err
  }
}

const parent = { pid: process.ppid, start: processStart(process.ppid) } // alive, same host and pid namespace

describe('WAL directory lock', () => {
  it('refuses while the owner runs, naming FLOE_WAL_DIR', async () => {
    expect(await takesOver(walDirWithLock(parent))).toBe(false)
    const dir = walDirWithLock({ pid: 1 }, 0)
    const held = await lockWalDir(path.join(dir, 'own'))
    await expect(lockWalDir(path.join(dir, 'own'))).rejects.toThrow(/FLOE_WAL_DIR/)
    await held.release()
  })

  it('takes over a lock whose process is gone', async () => {
    expect(await takesOver(walDirWithLock({ pid: 2 ** 22 + 12345 }))).toBe(true)
  })

  it("takes over a lock naming this very pid: a container's PID 1 restarting", async () => {
    expect(await takesOver(walDirWithLock({ pid: process.pid }))).toBe(true)
  })

  it('takes over a lock whose pid now runs another process (pid reuse)', async () => {
    expect(await takesOver(walDirWithLock({ ...parent, start: '1' }))).toBe(true)
  })

  it('from another host or pid namespace: watched for a heartbeat, never judged by clocks', async () => {
    const foreign = { pid: process.ppid, host: 'other-host' }
    // A live owner elsewhere: its heartbeat moves the mtime while we watch.
    const live = walDirWithLock(foreign)
    const beat = setInterval(() => {
      const t = new Date()
      utimesSync(path.join(live, 'LOCK'), t, t)
    }, 50)
    try {
      expect(await takesOver(live)).toBe(false)
    } finally {
      clearInterval(beat)
    }
    // A dead owner whose clock ran an hour ahead (its mtime is in our future): still taken over.
    expect(await takesOver(walDirWithLock(foreign, -3_600_000))).toBe(true)
    // Another pid namespace on this host, no heartbeat: taken over.
    expect(await takesOver(walDirWithLock({ ...parent, pidns: 'pid:[1]' }, 1_000))).toBe(true)
  })

  it("reads Floe 0.1's bare-pid lock files", async () => {
    expect(await takesOver(walDirWithLock(process.ppid))).toBe(false)
    expect(await takesOver(walDirWithLock(2 ** 22 + 12345))).toBe(true)
  })

  it('release removes only its own lock', async () => {
    const dir = walDirWithLock({ pid: 2 ** 22 + 1 })
    const lock = await lockWalDir(dir)
    writeFileSync(path.join(dir, 'LOCK'), JSON.stringify({ ...currentOwner(), token: 'someone-else' }))
    await lock.release()
    expect(JSON.parse(readFileSync(path.join(dir, 'LOCK'), 'utf8')).token).toBe('someone-else')
  })

  it('many takers of one stale lock at once: exactly one gets it', async () => {
    for (let round = 0; round < 10; round++) {
      const dir = walDirWithLock({ pid: 2 ** 22 + 777 })
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => lockWalDir(dir)))
      const won = results.filter((r) => r.status === 'fulfilled')
      expect(won).toHaveLength(1)
      for (const r of results) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/FLOE_WAL_DIR/)
      const lock = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof lockWalDir>>>).value
      expect(JSON.parse(readFileSync(path.join(dir, 'LOCK'), 'utf8')).token).toBe(lock.owner.token)
      await lock.release()
    }
  })

  it('a sibling taker in this process never judges a lock being created (linked, not yet fsynced) stale', async () => {
    // Deterministic form of the race "many takers" hits under load: the first taker's LOCK is
    // linked into place but its create has not returned (the directory fsync is still running)
    // when a second taker in the same process reads it. The LOCK names our pid with a token that
    // must count as held from before the link, or the second taker removes the live lock.
    const dir = mkdtempSync(path.join(tmpdir(), 'floe-lock-'))
    dirs.push(dir)
    const realLink = fsp.link.bind(fsp)
    let linked!: () => void
    const isLinked = new Promise<void>((r) => (linked = r))
    let resume!: () => void
    const gate = new Promise<void>((r) => (resume = r))
    const spy = vi.spyOn(fsp, 'link').mockImplementationOnce(async (from, to) => {
      await realLink(from, to)
      linked()
      await gate
    })
    try {
      const first = lockWalDir(dir)
      await isLinked
      const [second] = await Promise.allSettled([lockWalDir(dir)])
      resume()
      const lock = await first
      expect(second.status).toBe('rejected')
      expect(String((second as PromiseRejectedResult).reason)).toMatch(/FLOE_WAL_DIR/)
      expect(JSON.parse(readFileSync(path.join(dir, 'LOCK'), 'utf8')).token).toBe(lock.owner.token)
      await lock.release()
    } finally {
      resume()
      spy.mockRestore()
    }
  })
})
