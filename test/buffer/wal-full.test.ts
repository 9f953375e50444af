/**
 * Issue 9 item 7: a full WAL disk answers 503 saying what is full (it said "ingest backlog is
 * full"). The disk-full error is injected at the file handle's write, as ENOSPC would arrive.
 */
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { IngestBuffer } from '../../src/buffer/buffer.ts'
import { BackpressureError } from '../../src/errors.ts'
import { toHttpError } from '../../src/receive/http-errors.ts'
import { createHarness, events, type Harness } from './harness.ts'

let h: Harness | undefined
let b: IngestBuffer | undefined
afterEach(async () => {
  vi.restoreAllMocks()
  await b?.close(Date.now() + 2000)
  await h?.close()
})

describe('write-ahead log disk full', () => {
  it('503 names the full WAL disk, not the backlog', async () => {
    h = await createHarness({ ICEBERG_FLUSH_INTERVAL_SECONDS: '3600' })
    b = new IngestBuffer({ config: h.config, writer: h.writer })
    await b.start()
    await b.accept(events(['before']))

    const probe = await fs.open(path.join(os.tmpdir(), `floe-probe-${process.pid}`), 'w')
    const proto = Object.getPrototypeOf(probe) as { write: (...a: unknown[]) => Promise<unknown> }
    await probe.close()
    vi.spyOn(proto, 'write').mockRejectedValueOnce(
      Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
    )
    const err = await b.accept(events(['full'])).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BackpressureError)
    const http = toHttpError(err)
    expect(http.status).toBe(503)
    expect(http.headers?.['retry-after']).toBe('5')
    expect(http.body.error.message).toBe('the write-ahead log disk is full (ENOSPC); retry after 5s')
    expect(http.body.error.message).not.toContain('backlog')
    expect(http.body.error.message).not.toContain(h.config.wal.dir)
  })
})
