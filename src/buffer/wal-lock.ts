/**
 * One process per WAL directory: two writers appending to the same segments (and sharing one
 * writer id) would corrupt the log and break recovery's "committed = seq <= wal-seq" rule.
 *
 * `<dir>/LOCK` is created with O_EXCL and holds its owner: `{pid, host, pidns, start, token}`. The
 * owner touches its mtime every HEARTBEAT_MS. A lock left behind (SIGKILL, OOM, a container
 * restart) must be taken over at once, or Floe would never start again; a live owner must never
 * be, or two processes would share one writer id. Which processes can be checked decides how:
 * - same host and pid namespace: the owner is gone if its pid is not running, is our own pid but
 *   not a lock this process holds (a container's PID 1 restarting finds its own old lock), or now
 *   runs a process that started at another time (pid reuse; Linux start time from /proc);
 * - otherwise (another container or host sharing the volume): its pid means nothing here, so only
 *   the heartbeat tells. Floe watches the lock for WATCH_MS (two heartbeats and a margin): if its
 *   mtime does not move, the owner is gone. Only the file's own mtime is compared with itself, so
 *   clocks that disagree between hosts cannot make a live owner look stale.
 * A live owner stops start-up with an error naming FLOE_WAL_DIR.
 */
import { promises as fs, readFileSync, readlinkSync } from 'node:fs'
import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { ConfigError } from '../errors.ts'
import { LocalFileIO, fileUri } from '../storage/local.ts'

export const HEARTBEAT_MS = 5_000
/** How long an owner that cannot be checked is watched for a heartbeat. */
export const WATCH_MS = 2 * HEARTBEAT_MS + 1_000
const CLAIM_STALE_MS = 10_000

export interface LockOwner {
  pid: number
  host: string
  /** The pid namespace (`/proc/self/ns/pid`), '' where there is none to read. */
  pidns: string
  /** This boot of the kernel (`/proc/sys/kernel/random/boot_id`): the same host name and namespace
   * number on another machine (the initial namespace has one inode everywhere) is not this host. */
  boot: string
  /** Process start time in clock ticks since boot (/proc/<pid>/stat), '' where unknown. */
  start: string
  token: string
}

/** Tokens of the locks this process holds: a lock naming our pid is ours only if listed here. */
const heldTokens = new Set<string>()

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    return ''
  }
}

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid')
  } catch {
    return ''
  }
}

/** Field 22 of /proc/<pid>/stat; the command name before it may hold spaces, so count after ')'. */
export function processStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? ''
  } catch {
    return ''
  }
}

export function currentOwner(): LockOwner {
  return {
    pid: process.pid,
    host: hostname(),
    pidns: pidNamespace(),
    boot: bootId(),
    start: processStart(process.pid),
    token: randomUUID(),
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner> | number
    // Floe 0.1 wrote the bare pid.
    if (typeof o === 'number')
      return { pid: o, host: hostname(), pidns: pidNamespace(), boot: bootId(), start: '', token: '' }
    if (typeof o?.pid !== 'number') return undefined
    return {
      pid: o.pid,
      host: String(o.host ?? ''),
      pidns: String(o.pidns ?? ''),
      boot: String(o.boot ?? ''),
      start: String(o.start ?? ''),
      token: String(o.token ?? ''),
    }
  } catch {
    return undefined
  }
}

/** Why the lock's owner is certainly gone, or undefined if it may still run. */
/** Whether this process can check the owner's pid (same host, boot and pid namespace). */
function checkable(owner: LockOwner | undefined, me: LockOwner): owner is LockOwner {
  return owner !== undefined && owner.host === me.host && owner.pidns === me.pidns && owner.boot === me.boot
}

/** Why a checkable owner is certainly gone, or undefined if it runs. */
function staleBecause(owner: LockOwner, me: LockOwner): string | undefined {
  if (owner.pid === me.pid)
    return heldTokens.has(owner.token) ? undefined : 'it names this very process id (a restarted container)'
  if (!alive(owner.pid)) return `process ${owner.pid} is not running`
  if (owner.start && me.start && processStart(owner.pid) !== owner.start)
    return `process id ${owner.pid} was reused`
  return undefined
}

export interface WalLock {
  readonly owner: LockOwner
  release(): Promise<void>
}

export interface LockOptions {
  /** How long to watch an owner that cannot be checked (default WATCH_MS; tests use less). */
  watchMs?: number
}

export async function lockWalDir(dir: string, options: LockOptions = {}): Promise<WalLock> {
  await fs.mkdir(dir, { recursive: true })
  const file = path.join(dir, 'LOCK')
  const me = currentOwner()
  // Our token counts as held from before the link that makes LOCK visible until create() has
  // answered: another taker in this process may read LOCK in between (the link is followed by a
  // directory fsync), and a lock naming our pid with a token not held here is judged stale.
  // Registering only after create() returned let that taker remove the live lock and take it too.
  heldTokens.add(me.token)
  let won = false
  try {
    won = await claimLoop(dir, file, me, options)
  } finally {
    if (!won) heldTokens.delete(me.token)
  }
  return held(file, me)
}

/** Tries to create LOCK, judging and taking over a stale one; true once it is ours, else throws. */
async function claimLoop(dir: string, file: string, me: LockOwner, options: LockOptions): Promise<true> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await create(file, me)) return true
    const seen = await readLock(file)
    if (!seen) continue // released meanwhile
    const owner = parseOwner(seen.text)
    const reason = checkable(owner, me)
      ? staleBecause(owner, me)
      : await heartbeatStopped(file, seen, options.watchMs ?? WATCH_MS)
    if (reason === undefined)
      throw new ConfigError(
        'FLOE_WAL_DIR',
        `${dir} is in use by process ${owner?.pid ?? '?'} on ${owner?.host || 'another host'}; ` +
          `every Floe process needs its own write-ahead log directory`,
      )
    await takeOver(file, seen.text, me)
  }
  throw new ConfigError('FLOE_WAL_DIR', `could not lock ${dir}`)
}

/** Watches LOCK for `ms`: a reason if it stayed the same file with the same mtime, else undefined. */
async function heartbeatStopped(
  file: string,
  seen: { text: string; mtimeMs: number },
  ms: number,
): Promise<string | undefined> {
  await new Promise((r) => setTimeout(r, ms))
  const now = await readLock(file)
  if (now === undefined) return 'it was released' // gone meanwhile: the takeover finds nothing
  return now.text === seen.text && now.mtimeMs === seen.mtimeMs ? `no heartbeat for ${ms} ms` : undefined
}

/** Creates LOCK with its full content at once (temp file + link), or false if it exists. */
function create(file: string, me: LockOwner): Promise<boolean> {
  return new LocalFileIO().writeIfAbsent(fileUri(file), new TextEncoder().encode(JSON.stringify(me)))
}

/** Content and mtime of one and the same LOCK file (one handle), or undefined if there is none. */
async function readLock(file: string): Promise<{ text: string; mtimeMs: number } | undefined> {
  let h
  try {
    h = await fs.open(file, 'r')
  } catch {
    return undefined
  }
  try {
    const [stat, text] = await Promise.all([h.stat(), h.readFile('utf8')])
    return { text, mtimeMs: stat.mtimeMs }
  } finally {
    await h.close()
  }
}

/**
 * Removes a LOCK judged stale, without ever removing another process's fresh one. Two processes
 * taking over at once must not both remove and both create, so a takeover first takes a claim
 * (`LOCK.takeover`, created exclusively), then removes LOCK only if it is still the very file that
 * was judged (its content holds the owner's random token), and drops the claim. The lock itself is
 * then created by the usual exclusive create, which only one process wins. A claim left by a
 * process that died mid-takeover is cleared after CLAIM_STALE_MS.
 */
async function takeOver(file: string, staleText: string, me: LockOwner): Promise<void> {
  const claim = `${file}.takeover`
  let h
  try {
    h = await fs.open(claim, 'wx')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    const stat = await fs.stat(claim).catch(() => undefined)
    if (stat && Date.now() - stat.mtimeMs > CLAIM_STALE_MS) await fs.rm(claim, { force: true })
    await new Promise((r) => setTimeout(r, 20)) // another process is taking over: look again
    return
  }
  try {
    await h.writeFile(me.token)
    await h.close()
    const now = await readLock(file)
    if (now?.text === staleText) await fs.rm(file, { force: true })
  } finally {
    await fs.rm(claim, { force: true })
  }
}

/** The lock as its holder sees it; `owner.token` is already in heldTokens (see lockWalDir). */
function held(file: string, owner: LockOwner): WalLock {
  const now = () => new Date()
  const heartbeat = setInterval(() => void fs.utimes(file, now(), now()).catch(() => {}), HEARTBEAT_MS)
  heartbeat.unref()
  return {
    owner,
    async release() {
      clearInterval(heartbeat)
      try {
        // Only our own lock: after a takeover by someone else, theirs must stay.
        const current = parseOwner(await fs.readFile(file, 'utf8').catch(() => ''))
        if (current?.token === owner.token) await fs.rm(file, { force: true })
      } finally {
        // Forgotten only once LOCK is gone: before, a taker in this process could judge the still
        // present lock stale, remove it after our check and have its own lock removed by our rm.
        heldTokens.delete(owner.token)
      }
    },
  }
}
