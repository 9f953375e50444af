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
import { WriteNotAppliedError } from '../errors.ts'
import type { TableName } from '../rows.ts'
import { LocalFileIO, fileUri, fsyncDir } from '../storage/local.ts'
import { stringifyJson } from '../table/json.ts'
import type { QuarantinedRow } from './flusher.ts'

/** link(2) errors that mean "no hard links on this filesystem" (SMB, some FUSE mounts). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV'])

/** Create-if-absent without link(2): exclusive create, then write; an existing file is kept. */
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
  await fsyncDir(path.dirname(file))
}

export function quarantineDir(walDir: string): string {
  return path.join(walDir, 'quarantine')
}

export function quarantineWriter(
  dir: string,
): (table: TableName, seq: number, rows: QuarantinedRow[]) => Promise<void> {
  const io = new LocalFileIO()
  return async (table, seq, rows) => {
    const file = path.join(dir, `${table}-${String(seq).padStart(20, '0')}.ndjson`)
    const text = rows.map((q) => stringifyJson({ table, reason: q.reason, row: q.row }) + '\n').join('')
    try {
      // Complete under its final name or not there at all; false (kept as it is) if a replay of
      // this record already quarantined it.
      await io.writeIfAbsent(fileUri(file), new TextEncoder().encode(text))
    } catch (err) {
      const code = (err as { cause?: NodeJS.ErrnoException }).cause?.code
      if (!(err instanceof WriteNotAppliedError) || !NO_HARD_LINKS.has(code ?? '')) throw err
      await writeNew(file, text)
    }
  }
}
