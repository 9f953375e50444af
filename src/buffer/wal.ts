/**
 * Write-ahead log: accepted rows are appended here before `/api/send` answers 2xx, and replayed on
 * start if they were not committed to Iceberg (see recovery.ts).
 *
 * Layout: `<dir>/<first seq, 20 digits>.wal` segment files of records (wal-record.ts). A segment
 * holds seqs [its name, next segment's name - 1]; the newest one is the active segment.
 *
 * Group commit: `append` assigns the seq synchronously and queues the record's JSON payload in the
 * open group. File operations run one at a time on one promise chain; each write takes the whole
 * group (every record queued so far), encodes it straight into one reused buffer and issues one
 * write (+ one fdatasync under `always`). Per event there is no syscall, no buffer of its own and
 * no promise of its own: the records of a group share one `durable` promise.
 *
 * When an event is durable (`FLOE_WAL_FSYNC`), i.e. when `durable` resolves and the receiver may answer 2xx:
 * - `always` (default): after write + fdatasync of its group; survives a process crash, OS crash
 *   and power loss (to the extent the disk honours flushes).
 * - `interval`: after write(2) to the kernel; survives a process crash (SIGKILL, OOM); an OS crash
 *   or power loss can lose what was written in the last `FLOE_WAL_FSYNC_INTERVAL_MS`.
 * - `never`: after write(2); survives a process crash; the OS decides when it reaches the disk.
 *
 * Truncation: once every record of a segment is committed to Iceberg, the segment is deleted. The
 * active segment is rotated first when it is fully committed, so its file can go too.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Appended, EventLog } from './log.ts'
import { fsyncDir } from '../storage/local.ts'
import { metrics } from '../observe/metrics.ts'
import {
  decodeSegment,
  recordBytes,
  recordPayload,
  writeRecord,
  type RecordPayload,
  type TableRows,
  type WalRecord,
} from './wal-record.ts'

export type FsyncPolicy = 'always' | 'interval' | 'never'

export interface WalOptions {
  dir: string
  fsync: FsyncPolicy
  fsyncIntervalMs: number
  /** Rotate the active segment above this size (default 64 MiB). */
  segmentMaxBytes?: number
  /** Seqs below this are known to be used (e.g. committed per the snapshot summaries). */
  minNextSeq?: number
}

/** The local write-ahead log is the default EventLog (log.ts). */
export type WriteAheadLog = EventLog

/** The records waiting for the next write: one promise settles them all. */
interface Group {
  firstSeq: number
  lastSeq: number
  payloads: RecordPayload[]
  bytes: number
  durable: Promise<void>
  resolve: () => void
  reject: (err: unknown) => void
}

function openGroup(firstSeq: number): Group {
  let resolve!: () => void
  let reject!: (err: unknown) => void
  const durable = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { firstSeq, lastSeq: firstSeq - 1, payloads: [], bytes: 0, durable, resolve, reject }
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
/** The group buffer is kept between writes up to this size; a larger group gets a one-off buffer. */
const KEEP_GROUP_BUFFER_BYTES = 4 * 1024 * 1024
const SEGMENT_RE = /^(\d{20})\.wal$/

function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(20, '0')}.wal`
}

/** Reads all segments (oldest first); a torn tail of any segment is ignored. */
export async function readWal(dir: string): Promise<{ records: WalRecord[]; segments: Map<number, number> }> {
  await fs.mkdir(dir, { recursive: true })
  const firsts = (await fs.readdir(dir))
    .map((n) => SEGMENT_RE.exec(n)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number)
    .sort((a, b) => a - b)
  const records: WalRecord[] = []
  const segments = new Map<number, number>()
  for (let i = 0; i < firsts.length; i++) {
    const buf = await fs.readFile(path.join(dir, segmentName(firsts[i])))
    segments.set(firsts[i], buf.length)
    const next = firsts[i + 1] ?? Infinity
    for (const r of decodeSegment(buf).records) {
      // Seqs only grow across segments, and a segment holds seqs below the next one's name:
      // anything else is a leftover that was never acknowledged (a refused write).
      if (r.seq >= next) continue
      if (records.length === 0 || r.seq > records[records.length - 1].seq) records.push(r)
    }
  }
  return { records, segments }
}

class FileWal implements WriteAheadLog {
  readonly enabled = true
  durableSeq: number
  private nextSeq: number
  private group: Group | undefined
  private scratch = Buffer.allocUnsafeSlow(64 * 1024)
  private io: Promise<void> = Promise.resolve()
  private dirty = false
  /** A write failed: the active segment may end in a partial record. */
  private broken = false
  /** First seq of records refused since the last good write whose bytes may still be on disk. */
  private refusedFrom: number | undefined
  private closed = false
  private timer: NodeJS.Timeout | undefined
  private activeFirst: number
  private lastWritten: number

  constructor(
    private readonly opts: WalOptions,
    private handle: fs.FileHandle,
    firstSeq: number,
    /** firstSeq → bytes of every segment file, active one included. */
    private readonly segments: Map<number, number>,
  ) {
    this.nextSeq = firstSeq
    this.durableSeq = firstSeq - 1
    this.lastWritten = firstSeq - 1
    this.activeFirst = firstSeq
    if (opts.fsync === 'interval') {
      this.timer = setInterval(() => this.enqueue(() => this.syncIfDirty()), opts.fsyncIntervalMs)
      this.timer.unref()
    }
  }

  append(tables: TableRows, claimed = false): Appended {
    if (this.closed) throw new Error('write-ahead log is closed')
    const seq = this.nextSeq++
    const payload = recordPayload(tables, claimed)
    let group = this.group
    if (!group) {
      group = this.group = openGroup(seq)
      this.enqueue(() => this.writeGroup())
    }
    group.payloads.push(payload)
    group.bytes += recordBytes(payload)
    group.lastSeq = seq
    return { seq, sizes: payload.sizes, durable: group.durable }
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.io.then(op)
    this.io = next.catch(() => undefined)
    return next
  }

  /** One write (+ fdatasync under `always`) for every record queued since the last group. */
  private async writeGroup(): Promise<void> {
    const group = this.group
    this.group = undefined
    if (!group) return
    try {
      // After a failed write the segment may end in a partial record, and decoding stops there:
      // never append acknowledged records behind it.
      await this.fence()
      // File operations are serial, so one buffer serves every group once its write completed.
      if (this.scratch.length < group.bytes)
        this.scratch =
          group.bytes <= KEEP_GROUP_BUFFER_BYTES
            ? Buffer.allocUnsafeSlow(
                Math.min(KEEP_GROUP_BUFFER_BYTES, Math.max(group.bytes, 2 * this.scratch.length)),
              )
            : Buffer.allocUnsafe(group.bytes)
      const bytes = this.scratch
      let end = 0
      let seq = group.firstSeq
      for (const p of group.payloads) end = writeRecord(bytes, end, seq++, p)
      if (bytes.length > KEEP_GROUP_BUFFER_BYTES) this.scratch = Buffer.allocUnsafeSlow(64 * 1024)
      let off = 0
      while (off < end) off += (await this.handle.write(bytes, off, end - off)).bytesWritten
      if (this.opts.fsync === 'always') await this.handle.datasync()
      else this.dirty = true
      this.segments.set(this.activeFirst, (this.segments.get(this.activeFirst) ?? 0) + end)
      this.lastWritten = group.lastSeq
      this.durableSeq = this.lastWritten
      metrics.walGroupRecords.observe(group.payloads.length)
      group.resolve()
    } catch (err) {
      // These records are refused (503), so they must never be replayed: the client may send the
      // events again. Fence them off before answering; if that fails too, before the next write
      // and at close.
      this.refusedFrom ??= group.firstSeq
      this.broken = true
      await this.fence().catch(() => {})
      group.reject(err)
      return
    }
    if ((this.segments.get(this.activeFirst) ?? 0) >= (this.opts.segmentMaxBytes ?? DEFAULT_SEGMENT_BYTES))
      await this.rotate()
  }

  private async syncIfDirty(): Promise<void> {
    if (!this.dirty) return
    this.dirty = false
    await this.handle.datasync()
  }

  /**
   * After a failed write (`broken`), makes sure the refused records (seq >= refusedFrom) can never
   * be replayed, whatever the disk still holds of them:
   * - cut the active segment back to its size before them; else
   * - if it held nothing before them, remove it and start it afresh under the same name; else
   * - start a segment named after the first refused seq: readWal ignores records of a segment at
   *   or above the next segment's name.
   * Throws if none of that worked (the log then refuses writes; close() tries again).
   */
  private async fence(): Promise<void> {
    if (!this.broken) return
    const before = this.segments.get(this.activeFirst) ?? 0
    try {
      await this.handle.truncate(before)
      await this.handle.datasync()
    } catch {
      if (before > 0) await this.rotate(this.refusedFrom)
      else {
        const file = path.join(this.opts.dir, segmentName(this.activeFirst))
        await this.handle.close().catch(() => {})
        await fs.rm(file, { force: true })
        this.handle = await fs.open(file, 'a')
        await fsyncDir(this.opts.dir)
      }
    }
    this.broken = false
    this.refusedFrom = undefined
  }

  /** Closes the active segment and opens a new one named after the next seq to be written. */
  private async rotate(firstSeq = this.lastWritten + 1): Promise<void> {
    if (this.opts.fsync !== 'never') await this.syncIfDirty()
    // Open first: if that fails, the log still has its (old) active segment and name.
    const next = await fs.open(path.join(this.opts.dir, segmentName(firstSeq)), 'a')
    await this.handle.close().catch(() => {})
    this.handle = next
    this.activeFirst = firstSeq
    this.segments.set(this.activeFirst, 0)
    // The new file's name must survive power loss too, or its records (fdatasync'd or not) and the
    // seq floor would go with it: under `interval` as well, which promises to lose at most the last
    // interval.
    if (this.opts.fsync !== 'never') await fsyncDir(this.opts.dir)
  }

  truncate(throughSeq: number): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed) return
      // Rotate a fully committed active segment so it can go now, and (under steady load, when the
      // active segment is never fully committed) a large one so that it can go at the next flush.
      const activeBytes = this.segments.get(this.activeFirst) ?? 0
      const max = this.opts.segmentMaxBytes ?? DEFAULT_SEGMENT_BYTES
      if (activeBytes > 0 && (this.lastWritten <= throughSeq || activeBytes >= max / 16)) await this.rotate()
      const firsts = [...this.segments.keys()].sort((a, b) => a - b)
      for (let i = 0; i < firsts.length - 1; i++) {
        // A closed segment's last seq is the next segment's first seq - 1.
        if (firsts[i + 1] - 1 > throughSeq) break
        await fs.rm(path.join(this.opts.dir, segmentName(firsts[i])), { force: true })
        this.segments.delete(firsts[i])
      }
    })
  }

  sizeBytes(): number {
    let n = 0
    for (const b of this.segments.values()) n += b
    return n
  }

  segmentCount(): number {
    return this.segments.size
  }

  async close(): Promise<void> {
    if (this.closed) return
    clearInterval(this.timer)
    await this.enqueue(async () => {
      await this.writeGroup()
      await this.fence().catch(() => {}) // refused records of a last failed write
      if (this.opts.fsync !== 'never') await this.syncIfDirty()
      this.closed = true
      await this.handle.close()
    })
  }
}

/**
 * Opens the log for appending and returns the records already in it (for replay). Writing always
 * starts in a fresh segment, so a torn tail of the previous run is never appended to.
 */
export async function openWal(opts: WalOptions): Promise<{ wal: WriteAheadLog; records: WalRecord[] }> {
  const { records, segments } = await readWal(opts.dir)
  const lastRecord = records.length ? records[records.length - 1].seq : 0
  // An empty active segment's name is the seq floor when every record has been truncated.
  const maxFirst = Math.max(0, ...segments.keys())
  const firstSeq = Math.max(lastRecord + 1, maxFirst, opts.minNextSeq ?? 1, 1)
  const file = path.join(opts.dir, segmentName(firstSeq))
  const handle = await fs.open(file, 'a')
  const existing = (await handle.stat()).size
  if (existing > 0) {
    // Only possible if the newest segment is torn right at its first record: start after it.
    await handle.close()
    return openWal({ ...opts, minNextSeq: firstSeq + 1 })
  }
  segments.set(firstSeq, 0)
  if (opts.fsync !== 'never') await fsyncDir(opts.dir)
  return { wal: new FileWal(opts, handle, firstSeq, segments), records }
}

/** `FLOE_WAL_ENABLED=false`: no log at all (rows are lost on a crash); used to measure WAL cost. */
export function disabledWal(minNextSeq = 1): WriteAheadLog {
  let next = minNextSeq
  return {
    enabled: false,
    get durableSeq() {
      return next - 1
    },
    append: () => ({ seq: next++, sizes: {}, durable: Promise.resolve() }),
    truncate: async () => undefined,
    sizeBytes: () => 0,
    segmentCount: () => 0,
    close: async () => undefined,
  }
}
