/**
 * One process per WAL directory: two writers appending to the same segments (and sharing one
 * writer id) would corrupt the log and break recovery's "committed = seq <= wal-seq" rule.
 *
 * `<dir>/LOCK` holds the owner's pid, created with O_EXCL. A lock left by a process that no longer
 * runs (SIGKILL, crash) is taken over; a live owner stops start-up with an error naming the setting.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { ConfigError } from '../errors.ts'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export interface WalLock {
  release(): Promise<void>
}

export async function lockWalDir(dir: string): Promise<WalLock> {
  await fs.mkdir(dir, { recursive: true })
  const file = path.join(dir, 'LOCK')
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const h = await fs.open(file, 'wx')
      await h.writeFile(String(process.pid))
      await h.close()
      return { release: () => fs.rm(file, { force: true }) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const owner = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim())
    if (owner === process.pid || (Number.isInteger(owner) && owner > 0 && alive(owner)))
      throw new ConfigError(
        'FLOE_WAL_DIR',
        `${dir} is in use by process ${owner}; every Floe process needs its own write-ahead log directory`,
      )
    await fs.rm(file, { force: true }) // stale: its owner is gone
  }
  throw new ConfigError('FLOE_WAL_DIR', `could not lock ${dir}`)
}
