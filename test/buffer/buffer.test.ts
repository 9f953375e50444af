import { afterEach, describe, expect, it } from 'vitest'
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { IngestBuffer, type BufferOptions } from '../../src/buffer/buffer.ts'
import { ancestors, summaryFor, WAL_SEQ_KEY, WRITER_ID_KEY } from '../../src/buffer/recovery.ts'
import { quarantineDir, quarantineWriter } from '../../src/buffer/quarantine.ts'
import { BackpressureError, CommitStateUnknownError } from '../../src/errors.ts'
import type { Catalog } from '../../src/table/catalog.ts'
import type { EventRow, TableName } from '../../src/rows.ts'
import { createHarness, eventRow, events, sessionRow, waitFor, type Harness } from './harness.ts'

const open: { h: Harness; buffers: IngestBuffer[] }[] = []
afterEach(async () => {
  for (const { h, buffers } of open.splice(0)) {
    for (const b of buffers) await b.close(Date.now() + 2000)
    await h.close()
  }
})

async function setup(
  env: Record<string, string>,
  extra: Partial<BufferOptions> = {},
  wrapCatalog?: (real: Catalog) => Catalog,
) {
  const h = await createHarness({ ICEBERG_FLUSH_INTERVAL_SECONDS: '3600', ...env }, wrapCatalog)
  const buffers: IngestBuffer[] = []
  open.push({ h, buffers })
  const make = async () => {
    const b = new IngestBuffer({
      config: h.config,
      writer: h.writer,
      backoff: { initialMs: 50, maxMs: 200 },
      ...extra,
    })
    buffers.push(b)
    await b.start()
    return b
  }
  return { h, make }
}

async function snapshots(h: Harness, table: TableName = 'pa_events') {
  return [...ancestors((await h.writer.load(table)).metadata)].reverse()
}
async function totalRecords(h: Harness, table: TableName = 'pa_events'): Promise<number> {
  const s = await snapshots(h, table)
  return s.length ? Number(s[s.length - 1].summary['total-records']) : 0
}

describe('flush triggers', () => {
  it('count: ICEBERG_FLUSH_BATCH_SIZE rows in a table flush it', async () => {
    const { h, make } = await setup({ ICEBERG_FLUSH_BATCH_SIZE: '5' })
    const b = await make()
    for (let i = 0; i < 4; i++) await b.accept(events([`c${i}`]))
    await new Promise((r) => setTimeout(r, 150))
    expect(await snapshots(h)).toHaveLength(0) // 4 < 5: nothing yet
    await b.accept(events(['c4']))
    await waitFor(async () => (await totalRecords(h)) === 5)
    const [snap] = await snapshots(h)
    expect(snap.summary[WRITER_ID_KEY]).toBe(b.writerId)
    expect(Number(snap.summary[WAL_SEQ_KEY])).toBeGreaterThanOrEqual(5)
  })

  it('interval: the oldest row reaching the interval flushes the table', async () => {
    const { h, make } = await setup({ ICEBERG_FLUSH_BATCH_SIZE: '1000' }, { flushIntervalMs: 200 })
    const b = await make()
    const t0 = Date.now()
    await b.accept(events(['i0', 'i1']))
    await waitFor(async () => (await totalRecords(h)) === 2, 5000)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190)
  })

  it('bytes: ICEBERG_FLUSH_MAX_BYTES of encoded rows flush the table', async () => {
    const { h, make } = await setup({ ICEBERG_FLUSH_BATCH_SIZE: '1000', ICEBERG_FLUSH_MAX_BYTES: '2048' })
    const b = await make()
    await b.accept(events(['b0'])) // one row is well under 2 KiB
    await new Promise((r) => setTimeout(r, 150))
    expect(await snapshots(h)).toHaveLength(0)
    await b.accept(events(['b1', 'b2', 'b3']))
    await waitFor(async () => (await totalRecords(h)) === 4)
  })

  it('one snapshot per table per flush, sessions to pa_sessions', async () => {
    const { h, make } = await setup({})
    const b = await make()
    await b.accept({ pa_events: events(['s0', 's1']).pa_events, pa_sessions: [sessionRow()] })
    await b.accept({ pa_events: events(['s2']).pa_events, pa_sessions: [sessionRow()] })
    const result = await b.flush()
    expect(result.pa_events.map((r) => r.records)).toEqual([3])
    expect(result.pa_sessions.map((r) => r.records)).toEqual([2])
    expect(await snapshots(h)).toHaveLength(1)
    expect(await totalRecords(h, 'pa_sessions')).toBe(2)
    expect(b.walSizeBytes()).toBe(0) // committed → truncated
  })
})

describe('failures, backpressure and recovery', () => {
  it('storage down: keeps rows, answers backpressure over the limit, recovers by itself', async () => {
    const { h, make } = await setup({ ICEBERG_FLUSH_BATCH_SIZE: '4', FLOE_BACKLOG_MAX_ROWS: '10' })
    const b = await make()
    h.storage.down = true
    for (let i = 0; i < 10; i++) await b.accept(events([`o${i}`]))
    await expect(b.flush()).rejects.toThrow(/storage down/)
    const err = await b.accept(events(['over'])).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BackpressureError)
    expect((err as BackpressureError).retryAfterSeconds).toBeGreaterThanOrEqual(1)
    h.storage.down = false
    await waitFor(async () => (await totalRecords(h)) === 10) // background retry, no flush call
    await b.accept(events(['after'])) // accepting again
    await b.flush()
    expect(await totalRecords(h)).toBe(11)
  })

  it('restart replays rows that were in the WAL but not committed', async () => {
    const { h, make } = await setup({})
    const b1 = await make()
    await b1.accept(events(['r0', 'r1', 'r2']))
    // "Crash": drop the process state without flushing (close with an expired deadline).
    h.storage.down = true
    await b1.close(Date.now())
    h.storage.down = false
    const b2 = await make()
    expect(b2.replayedRows).toBe(3)
    expect(b2.writerId).toBe(b1.writerId)
    await b2.flush()
    expect(await totalRecords(h)).toBe(3)
  })

  it('one record holds both tables; recovery replays per table what that table lacks', async () => {
    const { h, make } = await setup({})
    const b1 = await make()
    await b1.accept({ pa_events: events(['t0', 't1']).pa_events, pa_sessions: [sessionRow()] })
    h.storage.failPaths = 'pa_sessions' // the events commit, the sessions append fails
    await expect(b1.flush()).rejects.toThrow(/storage down/)
    expect(await totalRecords(h)).toBe(2)
    await b1.close(Date.now())
    h.storage.failPaths = undefined
    const b2 = await make()
    expect(b2.replayedRows).toBe(1) // the session row only
    await b2.flush()
    expect(await totalRecords(h)).toBe(2)
    expect(await totalRecords(h, 'pa_sessions')).toBe(1)
  })

  it('crash between commit and WAL truncation: recovery skips what the snapshot chain holds', async () => {
    const { h, make } = await setup({})
    const walDir = h.config.wal.dir
    const b1 = await make()
    await b1.accept(events(['d0', 'd1']))
    cpSync(walDir, `${walDir}.before-commit`, { recursive: true })
    await b1.flush() // committed, WAL truncated
    await b1.accept(events(['d2'])) // accepted after the commit: must be replayed
    cpSync(walDir, `${walDir}.before-commit`, { recursive: true })
    await b1.close(Date.now())
    // Put back the segments as they were before truncation (the crash window).
    rmSync(walDir, { recursive: true, force: true })
    cpSync(`${walDir}.before-commit`, walDir, { recursive: true })
    // The copy's LOCK names this (live) test process; a real crash leaves a dead owner's pid.
    rmSync(`${walDir}/LOCK`)
    const b2 = await make()
    expect(b2.replayedRows).toBe(1) // d2 only; d0/d1 are in the snapshot with this writer's wal-seq
    await b2.flush()
    expect(await totalRecords(h)).toBe(3)
  })

  it('a WAL directory has one owner: a second live buffer on it is refused, naming FLOE_WAL_DIR', async () => {
    const { make } = await setup({})
    const b1 = await make()
    await expect(make()).rejects.toThrow(/FLOE_WAL_DIR: .* is in use by process/)
    await b1.close()
    const b2 = await make() // released on close
    expect(b2.writerId).toBe(b1.writerId)
  })

  it('graceful close flushes and commits everything accepted', async () => {
    const { h, make } = await setup({})
    const b = await make()
    await b.accept(events(['g0', 'g1']))
    expect(await b.close()).toBe(true)
    expect(await totalRecords(h)).toBe(2)
    await expect(b.accept(events(['late']))).rejects.toBeInstanceOf(BackpressureError)
  })

  it('a row that does not fit the schema is quarantined; the rest of its batch commits', async () => {
    const { h, make } = await setup({})
    const b1 = await make()
    // A WAL record from "another Floe version": event_type as text. The pipeline never makes this.
    const bad = { ...eventRow('bad'), event_type: 'pageview' } as unknown as EventRow
    await b1.accept({ pa_events: [eventRow('q0'), bad, eventRow('q1')], pa_sessions: [] })
    const first = await b1.flush()
    expect(first.pa_events).toHaveLength(1)
    expect(await totalRecords(h)).toBe(2)
    expect(b1.backlogRows).toBe(0)

    const dir = quarantineDir(h.config.wal.dir)
    const files = readdirSync(dir)
    expect(files).toHaveLength(1)
    const lines = readFileSync(path.join(dir, files[0]), 'utf8').trim().split('\n')
    expect(lines).toHaveLength(1)
    const kept = JSON.parse(lines[0]) as { table: string; reason: string; row: EventRow }
    const seq = Number(/^pa_events-(\d{20})\.ndjson$/.exec(files[0])![1]) // one file per WAL record
    expect(kept.table).toBe('pa_events')
    expect(kept.reason).toMatch(/pa_events\.event_type/)
    expect(kept.row.event_data).toEqual({ marker: 'bad' })

    // A replay of the same record (after a crash before the commit) finds its file and keeps it.
    await quarantineWriter(dir)('pa_events', seq, [{ row: eventRow('other'), reason: 'replayed' }])
    expect(readdirSync(dir)).toEqual(files)
    expect(readFileSync(path.join(dir, files[0]), 'utf8')).toContain('"marker":"bad"')

    // The record counts as committed: a restart replays nothing and quarantines nothing again.
    await b1.close()
    const b2 = await make()
    expect(b2.replayedRows).toBe(0)
    await b2.accept(events(['q2']))
    await b2.flush()
    expect(await totalRecords(h)).toBe(3)
    expect(readdirSync(dir)).toHaveLength(1)
  })

  it('an append whose outcome was unknown lands late, after the retry looked: no duplicate', async () => {
    // The catalog applies commit 1 only 300 ms after answering "state unknown" (a gateway timeout),
    // and the reload right after fails too, so the flush gives up on it; the retry's commit reaches
    // the catalog after the late landing.
    let commits = 0
    let failNextLoad = false
    let landed: Promise<unknown> = Promise.resolve()
    const { h, make } = await setup({}, {}, (real) => ({
      type: real.type,
      name: real.name,
      listNamespaces: () => real.listNamespaces(),
      createNamespaceIfAbsent: (n) => real.createNamespaceIfAbsent(n),
      listTables: (n) => real.listTables(n),
      createTableIfAbsent: (id, m) => real.createTableIfAbsent(id, m),
      close: () => real.close(),
      async loadTable(id) {
        if (failNextLoad) {
          failNextLoad = false
          throw new Error('ETIMEDOUT (catalog)')
        }
        return real.loadTable(id)
      },
      async commit(id, requirements, updates, options) {
        commits++
        if (commits === 1) {
          landed = new Promise((r) => setTimeout(r, 300)).then(() =>
            real.commit(id, requirements, updates, options),
          )
          failNextLoad = true
          throw new CommitStateUnknownError('gateway timeout')
        }
        if (commits === 2) await landed
        return real.commit(id, requirements, updates, options)
      },
    }))
    const b = await make()
    await b.accept(events(['u0', 'u1']))
    await expect(b.flush()).rejects.toThrow()
    await landed
    await waitFor(() => b.backlogRows === 0) // background retry
    expect(await totalRecords(h)).toBe(2)
    await b.accept(events(['u2']))
    await b.flush()
    expect(await totalRecords(h)).toBe(3)
  })

  it("another engine expires this writer's marker snapshots: the checkpoint still stops a replay", async () => {
    const { h, make } = await setup({ ICEBERG_FLUSH_BATCH_SIZE: '2' })
    const b1 = await make()
    // pa_events reaches its batch size and commits; the session row of the same WAL record waits
    // for its interval, so the record stays in the WAL.
    await b1.accept({ pa_events: events(['x0', 'x1']).pa_events, pa_sessions: [sessionRow()] })
    await waitFor(async () => (await totalRecords(h)) === 2)
    await waitFor(() => existsSync(path.join(h.config.wal.dir, 'committed')))
    // Another replica commits, then expire_snapshots(retain_last => 1) drops our marker snapshot.
    await h.writer.append('pa_events', events(['other']).pa_events, { summary: summaryFor('writer-B', 1) })
    const loaded = await h.writer.load('pa_events')
    const current = loaded.metadata['current-snapshot-id']
    // What Spark/Trino's expiry commits: remove-snapshots of all but the current one.
    await h.catalog.commit(
      { namespace: h.config.iceberg.namespace.split('.'), name: 'pa_events' },
      [],
      [
        {
          action: 'remove-snapshots',
          'snapshot-ids': loaded.metadata.snapshots
            .map((s) => s['snapshot-id'])
            .filter((id) => id !== current),
        },
      ],
    )
    expect(await snapshots(h)).toHaveLength(1)
    // "Crash": abandon b1 without a flush; its lock is taken over as a dead owner's would be.
    await b1.close(Date.now())
    const b2 = await make()
    expect(b2.replayedRows).toBe(1) // the session row only
    await b2.flush()
    expect(await totalRecords(h)).toBe(3)
    expect(await totalRecords(h, 'pa_sessions')).toBe(1)
  })
})
