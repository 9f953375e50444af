/** S3FileIO against a real S3-protocol server process (s3rver). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { S3FileIO, parseS3Uri } from '../../src/storage/s3.ts'
import { FileNotFoundError, WriteNotAppliedError } from '../../src/errors.ts'
import { startTestS3, type TestS3, testS3FileIO } from '../support/s3.ts'
import { startConditionalTestS3 } from '../support/s3-conditional.ts'

let s3: TestS3
let io: S3FileIO
const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

beforeAll(async () => {
  s3 = await startTestS3()
  io = testS3FileIO(s3)
})

afterAll(async () => {
  await io?.close()
  await s3?.stop()
  if (s3) rmSync(s3.dir, { recursive: true, force: true })
})

describe('S3FileIO', () => {
  it('parses s3:// URIs into bucket and key', () => {
    expect(parseS3Uri('s3://b/wh/t/metadata/x.json')).toEqual({ bucket: 'b', key: 'wh/t/metadata/x.json' })
    expect(parseS3Uri('s3://b')).toEqual({ bucket: 'b', key: '' })
    expect(() => parseS3Uri('file:///x')).toThrow(/s3/)
  })

  it('writes, reads back byte for byte, and the object lands in the server folder', async () => {
    const payload = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff)
    const uri = `s3://${s3.bucket}/wh/t/data/00000-0-a.parquet`
    await io.write(uri, payload)
    expect(await io.read(uri)).toEqual(payload)
    // s3rver stores objects as <dir>/<bucket>/<key>._S3rver_object
    const onDisk = path.join(s3.dir, s3.bucket, 'wh/t/data/00000-0-a.parquet._S3rver_object')
    expect(existsSync(onDisk)).toBe(true)
    expect(new Uint8Array(readFileSync(onDisk))).toEqual(payload)
  })

  it('exists / delete (missing is fine) / read of a missing key is FileNotFoundError', async () => {
    const uri = `s3://${s3.bucket}/wh/del/x.bin`
    await io.write(uri, bytes('x'))
    expect(await io.exists(uri)).toBe(true)
    await io.delete(uri)
    expect(await io.exists(uri)).toBe(false)
    await io.delete(uri)
    await expect(io.read(uri)).rejects.toBeInstanceOf(FileNotFoundError)
  })

  it('writeIfAbsent creates once and then reports false without overwriting', async () => {
    const uri = `s3://${s3.bucket}/wh/cas/v1.metadata.json`
    expect(await io.writeIfAbsent(uri, bytes('first'))).toBe(true)
    expect(await io.writeIfAbsent(uri, bytes('second'))).toBe(false)
    expect(text(await io.read(uri))).toBe('first')
  })

  it('writeIfAbsent refused outright (no such bucket) is WriteNotAppliedError, not an unknown outcome', async () => {
    const uri = 's3://no-such-bucket/wh/v1.metadata.json'
    await expect(io.writeIfAbsent(uri, bytes('x'))).rejects.toBeInstanceOf(WriteNotAppliedError)
  })

  it('lists by prefix across pages', async () => {
    const paged = new S3FileIO({ client: io.client, region: 'us-east-1', listPageSize: 7 })
    const base = `s3://${s3.bucket}/wh/many/`
    const n = 45
    await Promise.all(
      Array.from({ length: n }, (_, i) => io.write(`${base}f${String(i).padStart(3, '0')}`, bytes('.'))),
    )
    const listed = await paged.list(base)
    expect(listed).toHaveLength(n)
    expect(listed[0]).toBe(`${base}f000`)
    expect(listed[n - 1]).toBe(`${base}f044`)
    expect(await paged.list(`s3://${s3.bucket}/wh/many/f01`)).toHaveLength(10)
    expect(await paged.list(`s3://${s3.bucket}/nothing/`)).toEqual([])
  })

  it('fails with the connection error (not a silent false) when the server is down', async () => {
    await s3.stop()
    try {
      const down = new S3FileIO({
        endpoint: s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
        client: undefined,
      })
      await expect(down.writeIfAbsent(`s3://${s3.bucket}/wh/down/x`, bytes('x'))).rejects.toThrow()
      await expect(down.exists(`s3://${s3.bucket}/wh/down/x`)).rejects.toThrow()
      await down.close()
    } finally {
      await s3.start()
    }
    expect(await io.exists(`s3://${s3.bucket}/wh/cas/v1.metadata.json`)).toBe(true)
  })
})

describe('S3FileIO.writeStream', () => {
  /** The S3 operations the real client sent (a middleware on the client, not a mock). */
  function recording(partSizeBytes: number): { io: S3FileIO; sent: string[] } {
    const rec = { io: testS3FileIO(s3, { partSizeBytes }), sent: [] as string[] }
    rec.io.client.middlewareStack.add(
      (next, context) => async (args) => {
        rec.sent.push(context.commandName ?? '?')
        return next(args)
      },
      { step: 'initialize' },
    )
    return rec
  }
  async function* chunksOf(payload: Uint8Array, size: number, failAfter = Infinity) {
    for (let at = 0, n = 0; at < payload.byteLength; at += size, n++) {
      if (n >= failAfter) throw new Error('the encoder failed')
      yield payload.subarray(at, at + size)
    }
  }
  const payload = new Uint8Array(300_000).map((_, i) => (i * 13) & 0xff)

  it('uploads a file larger than one part as a multipart upload, byte for byte', async () => {
    const { io: sio, sent } = recording(64 * 1024)
    const uri = `s3://${s3.bucket}/wh/stream/big.parquet`
    expect(await sio.writeStream(uri, chunksOf(payload, 10_000))).toBe(payload.byteLength)
    expect(await io.read(uri)).toEqual(payload)
    // 300,000 bytes in parts of at least 64 KiB: four full parts and the rest.
    expect(sent.filter((c) => c === 'UploadPartCommand')).toHaveLength(5)
    expect(sent).toContain('CreateMultipartUploadCommand')
    expect(sent).toContain('CompleteMultipartUploadCommand')
    expect(sent).not.toContain('PutObjectCommand')
    await sio.close()
  })

  it('sends a file that fits in one part as one PutObject', async () => {
    const { io: sio, sent } = recording(1024 * 1024)
    const uri = `s3://${s3.bucket}/wh/stream/small.parquet`
    expect(await sio.writeStream(uri, chunksOf(payload, 10_000))).toBe(payload.byteLength)
    expect(await io.read(uri)).toEqual(payload)
    expect(sent).toEqual(['PutObjectCommand'])
    await sio.close()
  })

  it('aborts the upload when the stream fails, leaving no object', async () => {
    const { io: sio, sent } = recording(64 * 1024)
    const uri = `s3://${s3.bucket}/wh/stream/failed.parquet`
    await expect(sio.writeStream(uri, chunksOf(payload, 10_000, 20))).rejects.toThrow(/encoder failed/)
    expect(sent.filter((c) => c === 'UploadPartCommand').length).toBeGreaterThan(0)
    expect(sent.at(-1)).toBe('AbortMultipartUploadCommand')
    expect(await io.exists(uri)).toBe(false)
    await sio.close()
  })
})

describe('S3FileIO with an If-None-Match enforcing store', () => {
  let cs3: TestS3
  let cio: S3FileIO
  beforeAll(async () => {
    cs3 = await startConditionalTestS3()
    cio = new S3FileIO({
      endpoint: cs3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      accessKeyId: cs3.accessKeyId,
      secretAccessKey: cs3.secretAccessKey,
    })
  })
  afterAll(async () => {
    await cio?.close()
    await cs3?.stop()
    if (cs3) rmSync(cs3.dir, { recursive: true, force: true })
  })

  it('defaults to conditionalWrites and maps 412 PreconditionFailed to false', async () => {
    expect(cio.conditionalWrites).toBe(true)
    const uri = `s3://${cs3.bucket}/wh/t/metadata/v1.metadata.json`
    expect(await cio.writeIfAbsent(uri, bytes('mine'))).toBe(true)
    expect(await cio.writeIfAbsent(uri, bytes('theirs'))).toBe(false)
    expect(text(await cio.read(uri))).toBe('mine')
  })

  it('a retried PUT of our own bytes (lost response) still counts as created', async () => {
    const uri = `s3://${cs3.bucket}/wh/t/metadata/v2.metadata.json`
    await cio.write(uri, bytes('same-bytes'))
    // The 412 path compares content: identical bytes mean the object is this writer's own.
    expect(await cio.writeIfAbsent(uri, bytes('same-bytes'))).toBe(true)
  })

  it('lets exactly one of many concurrent creators win', async () => {
    const uri = `s3://${cs3.bucket}/wh/t/metadata/v3.metadata.json`
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => cio.writeIfAbsent(uri, bytes(`w${i}`))),
    )
    expect(results.filter(Boolean)).toHaveLength(1)
    expect(text(await cio.read(uri))).toBe(`w${results.indexOf(true)}`)
  })
})
