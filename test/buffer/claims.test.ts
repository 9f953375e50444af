/**
 * The crash points between the WAL write and the idempotency claim (docs/idempotency.md), made
 * exactly: a WAL written the way a killed process leaves it, claims in the real Postgres ledger,
 * then a fresh IngestBuffer starts on that WAL, flushes into a real JDBC catalog + local warehouse,
 * and the table is read back with icebird.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { IngestBuffer } from '../../src/buffer/buffer.ts'
import { ensureWriterId } from '../../src/buffer/recovery.ts'
import { openWal } from '../../src/buffer/wal.ts'
import { PgLedger } from '../../src/idempotency/pg-ledger.ts'
import { PgSql } from '../../src/storage/pg.ts'
import type { EventRow } from '../../src/rows.ts'
import { installFetchShim, readWithIcebird } from '../e2e/readback.ts'
import { createHarness, eventRow, type Harness } from './harness.ts'

let h: Harness
let sql: PgSql
let ledger: PgLedger
let buffer: IngestBuffer | undefined

beforeEach(async () => {
  installFetchShim()
  h = await createHarness()
  sql = new PgSql(h.databaseUrl)
  ledger = await PgLedger.open(sql, { windowSeconds: 86_400 })
})

afterEach(async () => {
  await buffer?.close()
  buffer = undefined
  await sql.close()
  await h.close()
})

const v1Row = (eventId: string): EventRow => ({ ...eventRow(eventId), event_id: eventId, source: 'v1' })

async function startBuffer(): Promise<IngestBuffer> {
  buffer = new IngestBuffer({ config: h.config, writer: h.writer, ledger })
  await buffer.start()
  return buffer
}

async function eventIdsInTable(): Promise<string[]> {
  const rows = await readWithIcebird((await h.writer.load('pa_events')).metadataLocation)
  return rows.map((r) => String(r.event_id)).sort()
}

describe('idempotency claims across a crash', () => {
  it('a WAL record whose claim never landed (killed between WAL write and claim) is not replayed; one whose claim landed is', async () => {
    const dir = h.config.wal.dir
    const writerId = await ensureWriterId(dir)
    const opened = await openWal({ dir, fsync: 'always', fsyncIntervalMs: 100 })
    const landed = v1Row('evt-claimed')
    const lost = v1Row('evt-unclaimed')
    const appended = opened.wal.append({ pa_events: [landed, lost] }, true)
    await appended.durable
    expect(await ledger.claim(writerId, appended.seq, [landed])).toEqual(new Set())
    await opened.wal.close() // the process dies here: `lost` was never claimed, never acknowledged

    const b = await startBuffer()
    await b.flush()
    expect(await eventIdsInTable()).toEqual(['evt-claimed'])

    // The client retries the unacknowledged event: it lands now; the acknowledged one is a duplicate.
    const retry = await b.accept(
      { pa_events: [v1Row('evt-unclaimed'), v1Row('evt-claimed')], pa_sessions: [] },
      { claim: true },
    )
    expect([...retry.duplicates].map((r) => r.event_id)).toEqual(['evt-claimed'])
    await b.flush()
    expect(await eventIdsInTable()).toEqual(['evt-claimed', 'evt-unclaimed'])
  })

  it('claims at seqs the WAL never made durable are released on start, so the retry lands', async () => {
    const dir = h.config.wal.dir
    const writerId = await ensureWriterId(dir)
    // Claimed for seq 7, but the process died before the record reached the disk.
    await ledger.claim(writerId, 7, [v1Row('evt-in-flight')])
    const b = await startBuffer()
    const retry = await b.accept({ pa_events: [v1Row('evt-in-flight')], pa_sessions: [] }, { claim: true })
    expect(retry.duplicates.size).toBe(0)
    await b.flush()
    expect(await eventIdsInTable()).toEqual(['evt-in-flight'])
  })

  it('the same id twice in one request, and rows without a key: the first keyed row counts, unkeyed rows are never claimed', async () => {
    const b = await startBuffer()
    const umami = eventRow('umami-row') // source null: not a /v1/events row, no key
    const res = await b.accept(
      { pa_events: [v1Row('evt-twice'), v1Row('evt-twice'), umami], pa_sessions: [] },
      { claim: true },
    )
    expect(res.duplicates.size).toBe(1)
    await b.flush()
    const ids = await eventIdsInTable()
    expect(ids.filter((id) => id === 'evt-twice')).toHaveLength(1)
    expect(ids).toContain(umami.event_id)
  })
})
