import { afterEach, describe, expect, it, vi } from 'vitest'
import { mkdtempSync, promises as fs, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { openWal, readWal, type WalOptions } from '../../src/buffer/wal.ts'
import { decodeSegment, encodeRecord } from '../../src/buffer/wal-record.ts'

const dirs: string[] = []
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'floe-wal-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  vi.restoreAllMocks()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const opts = (dir: string, extra: Partial<WalOptions> = {}): WalOptions => ({
  dir,
  fsync: 'always',
  fsyncIntervalMs: 20,
  ...extra,
})
const row = (i: number) => ({ event_id: `e${i}`, url_path: `/p/${i}`, event_data: { k: 'v' } })
const segments = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.wal'))

describe('WAL record format', () => {
  it('round-trips seq and the rows of both tables in one record', () => {
    const one = encodeRecord(1, { pa_events: [row(1)], pa_sessions: [row(9)] })
    const buf = Buffer.concat([one.buf, encodeRecord(2, { pa_sessions: [row(2)] }).buf])
    const d = decodeSegment(buf)
    expect(d.tornTail).toBe(false)
    expect(d.records.map((r) => [r.seq, r.tables])).toEqual([
      [1, { pa_events: [row(1)], pa_sessions: [row(9)] }],
      [2, { pa_sessions: [row(2)] }],
    ])
    expect(one.sizes.pa_events).toBe(JSON.stringify([row(1)]).length)
  })

  it('ignores a record whose checksum does not match, and everything after it', () => {
    const a = encodeRecord(1, { pa_events: [row(1)] }).buf
    const b = encodeRecord(2, { pa_events: [row(2)] }).buf
    const c = encodeRecord(3, { pa_events: [row(3)] }).buf
    b[b.length - 3] ^= 0xff // flip a payload byte
    const d = decodeSegment(Buffer.concat([a, b, c]))
    expect(d.records.map((r) => r.seq)).toEqual([1])
    expect(d.tornTail).toBe(true)
    expect(d.validBytes).toBe(a.length)
  })

  it('ignores a torn tail at every possible cut point', () => {
    const a = encodeRecord(1, { pa_events: [row(1)] }).buf
    const b = encodeRecord(2, { pa_events: [row(2)] }).buf
    for (let cut = 1; cut < b.length; cut++) {
      const d = decodeSegment(Buffer.concat([a, b.subarray(0, cut)]))
      expect(d.records.map((r) => r.seq)).toEqual([1])
      expect(d.tornTail).toBe(true)
    }
  })
})

describe('WAL segments', () => {
  it('replays appended records after reopening, in seq order', async () => {
    const dir = tempDir()
    const { wal } = await openWal(opts(dir))
    const a = wal.append({ pa_events: [row(1)] })
    const b = wal.append({ pa_sessions: [row(2)] })
    await Promise.all([a.durable, b.durable])
    expect(wal.durableSeq).toBe(b.seq)
    await wal.close()
    const { records } = await readWal(dir)
    expect(records.map((r) => [r.seq, Object.keys(r.tables)])).toEqual([
      [a.seq, ['pa_events']],
      [b.seq, ['pa_sessions']],
    ])
  })

  it('after a crash mid-write: the torn tail is ignored and writing resumes in a new segment', async () => {
    const dir = tempDir()
    const { wal } = await openWal(opts(dir))
    await wal.append({ pa_events: [row(1)] }).durable
    await wal.append({ pa_events: [row(2)] }).durable
    await wal.close()
    // Simulate a crash during the write of record 3: half a record at the end of the file.
    const [seg] = segments(dir)
    const half = encodeRecord(3, { pa_events: [row(3)] }).buf
    await fs.appendFile(path.join(dir, seg), half.subarray(0, half.length >> 1))

    const reopened = await openWal(opts(dir))
    expect(reopened.records.map((r) => r.seq)).toEqual([1, 2])
    const next = reopened.wal.append({ pa_events: [row(4)] })
    await next.durable
    expect(next.seq).toBe(3) // the torn record was never acknowledged; its seq can be reused
    expect(segments(dir)).toHaveLength(2) // never appends after garbage
    await reopened.wal.close()
    expect((await readWal(dir)).records.map((r) => r.seq)).toEqual([1, 2, 3])
  })

  it('after a failed (partial) write, acknowledged records never sit behind the garbage', async () => {
    const dir = tempDir()
    const { wal } = await openWal(opts(dir))
    await wal.append({ pa_events: [row(1)] }).durable
    const probe = await fs.open(path.join(dir, 'probe'), 'w')
    const proto = Object.getPrototypeOf(probe) as { write: (...a: unknown[]) => Promise<unknown> }
    await probe.close()
    const original = proto.write
    const spy = vi.spyOn(proto, 'write').mockImplementationOnce(async function (
      this: unknown,
      ...args: unknown[]
    ) {
      const [buf, off, len] = args as [Buffer, number, number]
      await original.call(this, buf, off, len >> 1) // half a record reaches the file, then ENOSPC
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
    })
    await expect(wal.append({ pa_events: [row(2)] }).durable).rejects.toThrow(/ENOSPC/)
    spy.mockRestore()
    const three = wal.append({ pa_events: [row(3)] })
    await three.durable
    await wal.close()
    expect((await readWal(dir)).records.map((r) => r.seq)).toEqual([1, three.seq])
  })

  it('a refused record (written, then fdatasync failed → 503) is never replayed', async () => {
    for (const truncateFails of [false, true]) {
      const dir = tempDir()
      const { wal } = await openWal(opts(dir))
      await wal.append({ pa_events: [row(1)] }).durable
      const probe = await fs.open(path.join(dir, 'probe'), 'w')
      const proto = Object.getPrototypeOf(probe) as Record<string, (...a: unknown[]) => Promise<unknown>>
      await probe.close()
      // The whole record reaches the file, then the flush to disk fails (EIO).
      const sync = vi.spyOn(proto, 'datasync').mockImplementationOnce(async () => {
        throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })
      })
      const trunc = truncateFails
        ? vi.spyOn(proto, 'truncate').mockImplementationOnce(async () => {
            throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' })
          })
        : undefined
      await expect(wal.append({ pa_events: [row(2)] }).durable).rejects.toThrow(/EIO/)
      sync.mockRestore()
      trunc?.mockRestore()
      const three = wal.append({ pa_events: [row(3)] })
      await three.durable
      // "Crash": read the log as the next start would, without closing it.
      const replayed = (await readWal(dir)).records
      expect(
        replayed.map((r) => r.seq),
        `truncate fails: ${truncateFails}`,
      ).toEqual([1, three.seq])
      await wal.close()
    }
  })

  it('a refused first record of a segment, with truncation failing too, is gone even if the process dies at once', async () => {
    const dir = tempDir()
    const { wal } = await openWal(opts(dir))
    const probe = await fs.open(path.join(dir, 'probe'), 'w')
    const proto = Object.getPrototypeOf(probe) as Record<string, (...a: unknown[]) => Promise<unknown>>
    await probe.close()
    const sync = vi.spyOn(proto, 'datasync').mockImplementationOnce(async () => {
      throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })
    })
    const trunc = vi.spyOn(proto, 'truncate').mockImplementationOnce(async () => {
      throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' })
    })
    const refused = wal.append({ pa_events: [row(1)] })
    await expect(refused.durable).rejects.toThrow(/EIO/)
    sync.mockRestore()
    trunc.mockRestore()
    // "Crash" right after the 503, before any other write: the next start must not replay it.
    expect((await readWal(dir)).records.map((r) => r.seq)).toEqual([])
    const next = wal.append({ pa_events: [row(2)] })
    await next.durable
    expect(next.seq).toBeGreaterThan(refused.seq)
    expect((await readWal(dir)).records.map((r) => r.seq)).toEqual([next.seq])
    await wal.close()
  })

  it('group commit: many concurrent appends share few fdatasyncs', async () => {
    const dir = tempDir()
    const { wal } = await openWal(opts(dir))
    const probe = await fs.open(path.join(dir, 'probe'), 'w')
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> }
    await probe.close()
    const spy = vi.spyOn(proto, 'datasync')
    const appended = Array.from({ length: 200 }, (_, i) => wal.append({ pa_events: [row(i)] }))
    await Promise.all(appended.map((a) => a.durable))
    // First append starts a group alone; all others pile up behind its fsync and go in one or two.
    expect(spy.mock.calls.length).toBeGreaterThanOrEqual(1)
    expect(spy.mock.calls.length).toBeLessThanOrEqual(3)
    await wal.close()
    expect((await readWal(dir)).records).toHaveLength(200)
  })

  it('interval policy: acknowledges after write and fsyncs on the timer', async () => {
    const dir = tempDir()
    const { wal } = await openWal(opts(dir, { fsync: 'interval', fsyncIntervalMs: 10 }))
    const probe = await fs.open(path.join(dir, 'probe'), 'w')
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> }
    await probe.close()
    const spy = vi.spyOn(proto, 'datasync')
    await wal.append({ pa_events: [row(1)] }).durable
    expect(spy).not.toHaveBeenCalled()
    await new Promise((r) => setTimeout(r, 60))
    expect(spy).toHaveBeenCalled()
    await wal.close()
  })

  it('truncation deletes committed segments, keeps uncommitted ones, and keeps the seq floor', async () => {
    const dir = tempDir()
    const { wal } = await openWal(opts(dir))
    const first = await Promise.all([1, 2, 3].map((i) => wal.append({ pa_events: [row(i)] }).durable))
    expect(first).toHaveLength(3)
    await wal.truncate(3) // everything committed: the active segment rotates and goes
    expect(wal.sizeBytes()).toBe(0)
    const four = wal.append({ pa_events: [row(4)] })
    const five = wal.append({ pa_events: [row(5)] })
    await Promise.all([four.durable, five.durable])
    await wal.truncate(4) // seq 5 still pending: its segment stays
    expect((await readWal(dir)).records.map((r) => r.seq)).toEqual([4, 5])
    await wal.truncate(5)
    await wal.close()
    expect((await readWal(dir)).records).toEqual([])
    // With every record gone, the empty active segment's name still carries the next seq.
    const reopened = await openWal(opts(dir))
    expect(reopened.wal.append({ pa_events: [row(6)] }).seq).toBe(6)
    await reopened.wal.close()
  })

  it('honours minNextSeq (positions known from snapshot summaries)', async () => {
    const dir = tempDir()
    const { wal } = await openWal(opts(dir, { minNextSeq: 500 }))
    expect(wal.append({ pa_events: [row(1)] }).seq).toBe(500)
    await wal.close()
  })
})

describe('WAL group commit', () => {
  const groups = async () => {
    const { metrics } = await import('../../src/observe/metrics.ts')
    const values = (await metrics.walGroupRecords.get()).values
    const of = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0
    return { count: of('floe_wal_group_records_count'), sum: of('floe_wal_group_records_sum') }
  }

  it('writes every record waiting at that moment with one write + fdatasync, and replays them all', async () => {
    const dir = tempDir()
    const { wal } = await openWal(opts(dir))
    const before = await groups()
    // Non-ASCII text: the group buffer is sized from UTF-8 lengths, not string lengths.
    const wide = (i: number) => ({ ...row(i), url_path: `/café/${i}/😀` })
    const first = Array.from({ length: 40 }, (_, i) => wal.append({ pa_events: [wide(i)] }))
    await new Promise((r) => setImmediate(r)) // the first group's write has started
    // Arrives while the first group's write is in flight: the next group, all of it at once.
    const second = Array.from({ length: 25 }, (_, i) =>
      wal.append({ pa_events: [wide(100 + i)], pa_sessions: [row(i)] }),
    )
    await Promise.all([...first, ...second].map((a) => a.durable))
    const after = await groups()
    expect(after.count - before.count).toBe(2)
    expect(after.sum - before.sum).toBe(65)
    expect(first[0].sizes.pa_events).toBe(Buffer.byteLength(JSON.stringify([wide(0)])))
    await wal.close()
    const { records } = await readWal(dir)
    expect(records.map((r) => r.seq)).toEqual([...first, ...second].map((a) => a.seq))
    expect(records[0].tables.pa_events).toEqual([wide(0)])
    expect(records[64].tables).toEqual({ pa_events: [wide(124)], pa_sessions: [row(24)] })
  })
})
