/**
 * The quarantine: rows that were acknowledged but can never be committed because they do not fit
 * the table schema (see flusher.ts). Losing them silently would break "nothing accepted is lost",
 * and retrying them forever would block the table, so they are kept here for an operator:
 * `<FLOE_WAL_DIR>/quarantine/<table>-<ms>-<n>.ndjson`, one `{"table","reason","row"}` per line,
 * 64-bit values as plain integers. Rows hold no client IP (the pipeline never puts one in a row).
 *
 * Written and fsync'd (file and folder) before the rows leave the buffer. A crash after this but
 * before the commit replays the WAL record and quarantines the same rows again, in a second file:
 * duplicates here are possible, never losses.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { TableName } from '../rows.ts'
import { stringifyJson } from '../write/json.ts'
import type { QuarantinedRow } from './flusher.ts'

export function quarantineDir(walDir: string): string {
  return path.join(walDir, 'quarantine')
}

let counter = 0

export function quarantineWriter(dir: string): (table: TableName, rows: QuarantinedRow[]) => Promise<void> {
  return async (table, rows) => {
    await fs.mkdir(dir, { recursive: true })
    const file = path.join(dir, `${table}-${Date.now()}-${counter++}.ndjson`)
    const text = rows.map((q) => stringifyJson({ table, reason: q.reason, row: q.row }) + '\n').join('')
    const handle = await fs.open(file, 'wx')
    try {
      await handle.writeFile(text)
      await handle.sync()
    } finally {
      await handle.close()
    }
    const folder = await fs.open(dir, 'r')
    try {
      await folder.sync()
    } finally {
      await folder.close()
    }
  }
}
