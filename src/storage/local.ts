/**
 * FileIO for a local folder warehouse (`file:///abs/path` URIs, as Iceberg metadata stores them).
 *
 * Durability: a file is complete or absent, never torn. Every write goes to a temp file in the same
 * directory, is fsynced, then renamed (or hard-linked for writeIfAbsent) into place, and the
 * directory is fsynced so the new name itself survives a power loss. Newly created parent
 * directories are fsynced into their parents too.
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { FileNotFoundError, FloeError, OutsideWarehouseError, WriteNotAppliedError } from '../errors.ts'
import type { FileIO, ListedFile } from './file-io.ts'

/** Temp files carry this suffix; `list` hides them (a crash can leave one behind). */
const TEMP_SUFFIX = '.floe-tmp'

/**
 * `file:///abs/p` and Java's `file:/abs/p` → `/abs/p`. Iceberg locations are plain strings, not
 * percent-encoded URLs, so the path is taken literally (a space stays a space).
 */
export function localPath(uri: string): string {
  let p: string
  if (uri.startsWith('file://')) p = uri.slice('file://'.length)
  else if (uri.startsWith('file:')) p = uri.slice('file:'.length)
  else throw new FloeError(`not a file:// URI: ${uri}`)
  if (!p.startsWith('/')) throw new FloeError(`file URI must hold an absolute path: ${uri}`)
  return p
}

/** `/abs/p` → `file:///abs/p`. */
export function fileUri(absPath: string): string {
  if (!path.isAbsolute(absPath)) throw new FloeError(`not an absolute path: ${absPath}`)
  return 'file://' + absPath
}

/** link(2) errors that mean no link was made (EIO and the like stay ambiguous). */
const LINK_REFUSED = new Set([
  'EPERM',
  'EACCES',
  'ENOSPC',
  'EXDEV',
  'ENOTSUP',
  'EOPNOTSUPP',
  'EROFS',
  'EMLINK',
  'EDQUOT',
])

function isCode(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code
}

/**
 * fsync a directory, so the names created, renamed or removed in it survive a power loss (the
 * files' own fsync does not cover their directory entries). Also used by the WAL (buffer/wal.ts).
 */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, 'r')
  try {
    await h.sync()
  } finally {
    await h.close()
  }
}

/** mkdir -p, then fsync every directory that was created into its parent. */
async function ensureDir(dir: string): Promise<void> {
  const first = await fs.mkdir(dir, { recursive: true })
  if (first === undefined) return
  // `first` is the topmost directory created; fsync its parent and each created level.
  let d = dir
  const created: string[] = []
  while (d.length >= first.length) {
    created.push(d)
    d = path.dirname(d)
  }
  for (const c of created.reverse()) await fsyncDir(path.dirname(c))
}

async function writeTemp(dir: string, base: string, bytes: Uint8Array): Promise<string> {
  const tmp = path.join(dir, `.${base}.${randomUUID()}${TEMP_SUFFIX}`)
  const h = await fs.open(tmp, 'wx')
  try {
    await h.writeFile(bytes)
    await h.sync()
  } catch (err) {
    await h.close()
    await fs.rm(tmp, { force: true })
    throw err
  }
  await h.close()
  return tmp
}

export interface LocalFileIOOptions {
  /**
   * The warehouse folder (absolute path). When set, every path is proven to stay under it after
   * normalisation (`/w/a/../../etc` is refused with OutsideWarehouseError) before any file system
   * call, so no name or location that slipped past the identifier checks can reach outside.
   */
  root?: string
}

export class LocalFileIO implements FileIO {
  readonly conditionalWrites = true
  /** A plain field, not `#root`: tests wrap this FileIO with Object.create to inject faults. */
  readonly root: string | undefined

  constructor(options: LocalFileIOOptions = {}) {
    this.root = options.root === undefined ? undefined : path.resolve(options.root)
  }

  /** The local path of `uri`, checked against the root. */
  private checked(uri: string): string {
    const p = localPath(uri)
    const root = this.root
    if (root !== undefined) {
      const normal = path.resolve(p)
      if (normal !== root && !normal.startsWith(root + path.sep))
        throw new OutsideWarehouseError(uri, fileUri(root))
      // A `..` that resolves back inside is refused too: a path trick in any case.
      if (p.split('/').some((s) => s === '..')) throw new OutsideWarehouseError(uri, fileUri(root))
    }
    return p
  }

  async read(uri: string): Promise<Uint8Array> {
    try {
      const buf = await fs.readFile(this.checked(uri))
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    } catch (err) {
      if (isCode(err, 'ENOENT')) throw new FileNotFoundError(uri)
      throw err
    }
  }

  async write(uri: string, bytes: Uint8Array): Promise<void> {
    const target = this.checked(uri)
    const dir = path.dirname(target)
    await ensureDir(dir)
    const tmp = await writeTemp(dir, path.basename(target), bytes)
    try {
      await fs.rename(tmp, target)
    } catch (err) {
      await fs.rm(tmp, { force: true })
      throw err
    }
    await fsyncDir(dir)
  }

  async writeStream(uri: string, chunks: AsyncIterable<Uint8Array>): Promise<number> {
    const target = this.checked(uri)
    const dir = path.dirname(target)
    await ensureDir(dir)
    const tmp = path.join(dir, `.${path.basename(target)}.${randomUUID()}${TEMP_SUFFIX}`)
    const h = await fs.open(tmp, 'wx')
    let written = 0
    try {
      // writeFile on a handle writes from the current position: chunk after chunk.
      for await (const chunk of chunks) {
        await h.writeFile(chunk)
        written += chunk.byteLength
      }
      await h.sync()
    } catch (err) {
      await h.close()
      await fs.rm(tmp, { force: true })
      throw err
    }
    await h.close()
    try {
      await fs.rename(tmp, target)
    } catch (err) {
      await fs.rm(tmp, { force: true })
      throw err
    }
    await fsyncDir(dir)
    return written
  }

  /**
   * link(2) fails with EEXIST if the name exists, so exactly one of concurrent creators wins.
   * Failures before the link, and a link refused outright, created nothing: WriteNotAppliedError
   * (a commit then fails for certain instead of leaving its outcome unknown).
   */
  async writeIfAbsent(uri: string, bytes: Uint8Array): Promise<boolean> {
    const target = this.checked(uri)
    const dir = path.dirname(target)
    let tmp: string
    try {
      await ensureDir(dir)
      tmp = await writeTemp(dir, path.basename(target), bytes)
    } catch (err) {
      throw new WriteNotAppliedError(uri, err)
    }
    try {
      await fs.link(tmp, target)
    } catch (err) {
      if (isCode(err, 'EEXIST')) return false
      if (LINK_REFUSED.has((err as NodeJS.ErrnoException).code ?? ''))
        throw new WriteNotAppliedError(uri, err)
      throw err
    } finally {
      await fs.rm(tmp, { force: true })
    }
    await fsyncDir(dir)
    return true
  }

  async exists(uri: string): Promise<boolean> {
    try {
      await fs.stat(this.checked(uri))
      return true
    } catch (err) {
      if (isCode(err, 'ENOENT')) return false
      throw err
    }
  }

  async delete(uri: string): Promise<void> {
    await fs.rm(this.checked(uri), { force: true })
  }

  /** All files whose URI starts with `prefix` (recursive; `.../metadata/snap-` works too). */
  async list(prefix: string): Promise<string[]> {
    // Plain string-prefix semantics, as in S3's ListObjectsV2, so both stores answer alike.
    const p = this.checked(prefix)
    const root = p.endsWith('/') ? p : path.dirname(p)
    const out: string[] = []
    const walk = async (dir: string): Promise<void> => {
      let entries
      try {
        entries = await fs.readdir(dir, { withFileTypes: true })
      } catch (err) {
        if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return
        throw err
      }
      for (const e of entries) {
        const full = path.join(dir, e.name)
        if (e.isDirectory()) {
          if (full.startsWith(p) || p.startsWith(full + '/')) await walk(full)
        } else if (!e.name.endsWith(TEMP_SUFFIX) && full.startsWith(p)) {
          out.push(fileUri(full))
        }
      }
    }
    await walk(root)
    return out.sort()
  }

  async listWithTimes(prefix: string): Promise<ListedFile[]> {
    const out: ListedFile[] = []
    for (const uri of await this.list(prefix)) {
      try {
        out.push({ uri, lastModifiedMs: (await fs.stat(localPath(uri))).mtimeMs })
      } catch (err) {
        if (!isCode(err, 'ENOENT')) throw err // deleted since the listing: not a file any more
      }
    }
    return out
  }
}
