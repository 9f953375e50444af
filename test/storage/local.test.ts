import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { LocalFileIO, fileUri, localPath } from '../../src/storage/local.ts'
import { FileNotFoundError } from '../../src/errors.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'floe-local-'))
const root = fileUri(dir)
const io = new LocalFileIO()
const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('LocalFileIO', () => {
  it('maps file:///abs and Java-style file:/abs URIs to paths and refuses other schemes', () => {
    expect(localPath('file:///tmp/a b/c.json')).toBe('/tmp/a b/c.json')
    expect(localPath('file:/tmp/x')).toBe('/tmp/x')
    expect(() => localPath('s3://b/k')).toThrow(/not a file/)
    expect(() => localPath('file://relative/x')).toThrow(/absolute/)
  })

  it('writes into new nested folders, reads back, replaces, and leaves no temp files', async () => {
    const uri = `${root}/t/metadata/00000-a.metadata.json`
    await io.write(uri, bytes('one'))
    expect(text(await io.read(uri))).toBe('one')
    await io.write(uri, bytes('two'))
    expect(text(await io.read(uri))).toBe('two')
    expect(readdirSync(path.join(dir, 't/metadata'))).toEqual(['00000-a.metadata.json'])
  })

  it('writeStream writes the chunks in order, replaces, and leaves no temp files', async () => {
    const uri = `${root}/stream/data/a.parquet`
    async function* chunks(parts: string[]) {
      for (const p of parts) yield bytes(p)
    }
    expect(await io.writeStream(uri, chunks(['ab', 'cd', 'e']))).toBe(5)
    expect(text(await io.read(uri))).toBe('abcde')
    expect(await io.writeStream(uri, chunks(['xy']))).toBe(2)
    expect(text(await io.read(uri))).toBe('xy')
    expect(readdirSync(path.join(dir, 'stream/data'))).toEqual(['a.parquet'])
  })

  it('writeStream that fails midway leaves the earlier file and no temp file', async () => {
    const uri = `${root}/stream/data/b.parquet`
    await io.write(uri, bytes('old'))
    async function* failing() {
      yield bytes('new')
      throw new Error('the encoder failed')
    }
    await expect(io.writeStream(uri, failing())).rejects.toThrow(/encoder failed/)
    expect(text(await io.read(uri))).toBe('old')
    expect(readdirSync(path.join(dir, 'stream/data')).sort()).toEqual(['a.parquet', 'b.parquet'])
  })

  it('writeIfAbsent creates once and refuses to overwrite', async () => {
    const uri = `${root}/cas/v1.metadata.json`
    expect(await io.writeIfAbsent(uri, bytes('first'))).toBe(true)
    expect(await io.writeIfAbsent(uri, bytes('second'))).toBe(false)
    expect(text(await io.read(uri))).toBe('first')
    expect(readdirSync(path.join(dir, 'cas'))).toEqual(['v1.metadata.json'])
  })

  it('writeIfAbsent lets exactly one of many concurrent creators win', async () => {
    const uri = `${root}/race/v2.metadata.json`
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => io.writeIfAbsent(uri, bytes(`writer-${i}`))),
    )
    expect(results.filter(Boolean)).toHaveLength(1)
    const winner = results.indexOf(true)
    expect(text(await io.read(uri))).toBe(`writer-${winner}`)
  })

  it('exists, delete (missing is fine) and read of a missing file', async () => {
    const uri = `${root}/del/x.bin`
    await io.write(uri, new Uint8Array([1, 2, 3]))
    expect(await io.exists(uri)).toBe(true)
    await io.delete(uri)
    expect(await io.exists(uri)).toBe(false)
    await io.delete(uri)
    await expect(io.read(uri)).rejects.toBeInstanceOf(FileNotFoundError)
  })

  it('lists recursively by string prefix, sorted, without temp files', async () => {
    const base = `${root}/list`
    for (const k of [
      'data/a=1/f1.parquet',
      'data/a=2/f2.parquet',
      'metadata/snap-1.avro',
      'metadata/m0.avro',
    ])
      await io.write(`${base}/${k}`, bytes(k))
    expect(await io.list(`${base}/`)).toEqual([
      `${base}/data/a=1/f1.parquet`,
      `${base}/data/a=2/f2.parquet`,
      `${base}/metadata/m0.avro`,
      `${base}/metadata/snap-1.avro`,
    ])
    expect(await io.list(`${base}/data`)).toHaveLength(2)
    expect(await io.list(`${base}/metadata/snap-`)).toEqual([`${base}/metadata/snap-1.avro`])
    expect(await io.list(`${root}/nothing-here/`)).toEqual([])
  })
})
