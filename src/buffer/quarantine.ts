/**
 * The quarantine: rows that were acknowledged but can never be committed because they do not fit
 * the table schema (see flusher.ts). Losing them silently would break "nothing accepted is lost",
 * and retrying them forever would block the table, so they are kept here for an operator:
 * `<FLOE_WAL_DIR>/quarantine/<table>-<seq>.ndjson`, one `{"table","reason","row"}` per line,
 * 64-bit values as plain integers. Rows hold no client IP (the pipeline never puts one in a row).
 *
 * One file per WAL record (`seq`), written and fsync'd (file and folder) before the rows leave the
 * buffer. A crash before the commit replays the record, and its rows are found invalid again: the
 * file is already there and is left as it is, so nothing is quarantined twice. (The WAL directory is
 * this writer's alone, so a seq names one record.)
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { TableName } from '../rows.ts'
import { stringifyJson } from '../write/json.ts'
import type { QuarantinedRow } from './flusher.ts'

async function writeNew(file: string, text: string): Promise<void> {
  let h
  try {
    h = await fs.open(file, 'wx')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return
    throw err
  }
  try {
    await h.writeFile(text)
    await h.sync()
  } finally {
    await h.close()
  }
}

export function quarantineDir(walDir: string): string {
  return path.join(walDir, 'quarantine')
}

export function quarantineWriter(
  dir: string,
): (table: TableName, seq: number, rows: QuarantinedRow[]) => Promise<void> {
  return async (table, seq, rows) => {
    await fs.mkdir(dir, { recursive: true })
    const file = path.join(dir, `${table}-${String(seq).padStart(20, '0')}.ndjson`)
    const text = rows.map((q) => stringifyJson({ table, reason: q.reason, row: q.row }) + '\n').join('')
    // Written under a temporary name and renamed: a file with the final name is always complete.
    const tmp = `${file}.tmp`
    const handle = await fs.open(tmp, 'w')
    try {
      await handle.writeFile(text)
      await handle.sync()
    } finally {
      await handle.close()
    }
    try {
      await fs.link(tmp, file) // fails if a replay already quarantined this record: keep that one
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST') return
      // No hard links on this filesystem (SMB, some FUSE mounts): create-if-absent the plain way.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err
      await writeNew(file, text)
    } finally {
      await fs.rm(tmp, { force: true })
    }
    const folder = await fs.open(dir, 'r')
    try {
      await folder.sync()
    } finally {
      await folder.close()
    }
  }
}
