/**
 * Hadoop (file-system) catalog specifics: Java-compatible layout, the version hint being only a
 * hint, refusing stores without create-if-absent, and the test S3 server really enforcing
 * If-None-Match (plain s3rver does not, which is why the enforcing layer exists).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { gzipSync } from 'node:zlib'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { HadoopCatalog } from '../../src/commit/hadoop.ts'
import {
  CommitConflictError,
  CommitStateUnknownError,
  ConfigError,
  WriteNotAppliedError,
} from '../../src/errors.ts'
import type { FileIO } from '../../src/storage/file-io.ts'
import { fileUri, LocalFileIO } from '../../src/storage/local.ts'
import { S3FileIO } from '../../src/storage/s3.ts'
import { startTestS3, type TestS3 } from '../support/s3.ts'
import { startConditionalTestS3 } from '../support/s3-conditional.ts'
import { newTableMetadata, snapshotId, withAppend } from './fixtures.ts'
import { serializeMetadata } from '../../src/table/metadata-file.ts'
import { commitAppend } from '../../src/table/append-commit.ts'

const s3io = (s3: TestS3, conditionalWrites: boolean) =>
  new S3FileIO({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    conditionalWrites,
  })

describe('hadoop catalog on a local folder', () => {
  let dir: string
  let warehouse: string
  const io = new LocalFileIO()
  const id = { namespace: ['analytics'], name: 'events' }
  let catalog: HadoopCatalog
  const metaDir = () => path.join(dir, 'analytics/events/metadata')

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'floe-hadoop-'))
    warehouse = fileUri(dir)
    catalog = new HadoopCatalog({ io, warehouse })
    let t = await catalog.createTableIfAbsent(id, newTableMetadata(`${warehouse}/analytics/events`))
    for (let i = 0; i < 3; i++) {
      const sid = snapshotId()
      t = await commitAppend(catalog, id, {
        base: t,
        metadata: await withAppend(io, t, sid),
        snapshotId: sid,
      })
    }
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('writes Java HadoopTableOperations names: v1..vN.metadata.json and version-hint.text', async () => {
    const files = (await fs.readdir(metaDir())).filter((f) => f.endsWith('.metadata.json')).sort()
    expect(files).toEqual(['v1.metadata.json', 'v2.metadata.json', 'v3.metadata.json', 'v4.metadata.json'])
    expect(await fs.readFile(path.join(metaDir(), 'version-hint.text'), 'utf8')).toBe('4')
    expect((await catalog.loadTable(id))!.metadataLocation).toBe(
      `${warehouse}/analytics/events/metadata/v4.metadata.json`,
    )
  })

  it('treats the version hint as advisory: stale, missing or garbage hints still load the newest', async () => {
    const hint = path.join(metaDir(), 'version-hint.text')
    const newest = `${warehouse}/analytics/events/metadata/v4.metadata.json`
    await fs.writeFile(hint, '2') // stale (a slower writer's hint landed last): probe forward
    expect((await catalog.loadTable(id))!.metadataLocation).toBe(newest)
    await fs.writeFile(hint, '17') // points at a missing version: list
    expect((await catalog.loadTable(id))!.metadataLocation).toBe(newest)
    await fs.writeFile(hint, 'garbage\n')
    expect((await catalog.loadTable(id))!.metadataLocation).toBe(newest)
    await fs.rm(hint)
    expect((await catalog.loadTable(id))!.metadataLocation).toBe(newest)
    expect(await catalog.listTables(['analytics'])).toEqual([id])
    expect(await catalog.listNamespaces()).toEqual([['analytics']])
  })

  it('an I/O error during the commit write is CommitStateUnknownError (the file may exist)', async () => {
    const failing: FileIO = Object.assign(Object.create(io) as FileIO, {
      conditionalWrites: true,
      writeIfAbsent: async () => {
        throw new Error('EIO: simulated disk error')
      },
    })
    const c = new HadoopCatalog({ io: failing, warehouse })
    const base = (await c.loadTable(id))!
    const sid = snapshotId()
    const commit = commitAppend(c, id, { base, metadata: await withAppend(io, base, sid), snapshotId: sid })
    await expect(commit).rejects.toBeInstanceOf(CommitStateUnknownError)
  })

  it('a commit write the disk refuses outright (no hard links here, disk full) fails for certain, not "unknown"', async () => {
    const link = vi
      .spyOn(fs, 'link')
      .mockRejectedValueOnce(
        Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' }),
      )
    try {
      const base = (await catalog.loadTable(id))!
      const sid = snapshotId()
      const commit = commitAppend(catalog, id, {
        base,
        metadata: await withAppend(io, base, sid),
        snapshotId: sid,
      })
      await expect(commit).rejects.toBeInstanceOf(WriteNotAppliedError)
    } finally {
      link.mockRestore()
    }
    expect((await catalog.loadTable(id))!.metadata['current-snapshot-id']).not.toBe(undefined)
  })

  it('a create-if-absent that landed but answered "exists" (retried PUT → 412) counts as committed', async () => {
    // The S3 SDK retries a PUT whose response was lost; the retry then meets our own file.
    const retried: FileIO = Object.assign(Object.create(io) as FileIO, {
      conditionalWrites: true,
      writeIfAbsent: async (uri: string, bytes: Uint8Array) => {
        await io.writeIfAbsent(uri, bytes)
        return false
      },
    })
    const c = new HadoopCatalog({ io: retried, warehouse })
    const base = (await c.loadTable(id))!
    const sid = snapshotId()
    const result = await commitAppend(c, id, {
      base,
      metadata: await withAppend(io, base, sid),
      snapshotId: sid,
    })
    expect(result.metadata['current-snapshot-id']).toBe(sid)
    // …while a file that is someone else's is still a conflict.
    const other = snapshotId()
    const stale = commitAppend(c, id, {
      base,
      metadata: await withAppend(io, base, other),
      snapshotId: other,
    })
    await expect(stale).rejects.toBeInstanceOf(CommitConflictError)
  })

  it('hint writes landing out of order still leave the newest version in version-hint.text', async () => {
    // A commits vN; before A's hint write lands, B commits vN+1 and writes its hint; A's stale
    // hint lands last. Readers that trust the hint (DuckDB's iceberg_scan) must not go backwards.
    const other = new HadoopCatalog({ io, warehouse })
    let raced = false
    const slowHint: FileIO = Object.assign(Object.create(io) as FileIO, {
      conditionalWrites: true,
      write: async (uri: string, bytes: Uint8Array) => {
        if (uri.endsWith('version-hint.text') && !raced) {
          raced = true
          const base = (await other.loadTable(id))!
          const sid = snapshotId()
          await commitAppend(other, id, { base, metadata: await withAppend(io, base, sid), snapshotId: sid })
        }
        return io.write(uri, bytes)
      },
    })
    const a = new HadoopCatalog({ io: slowHint, warehouse })
    const base = (await a.loadTable(id))!
    const sid = snapshotId()
    const mine = await commitAppend(a, id, {
      base,
      metadata: await withAppend(io, base, sid),
      snapshotId: sid,
    })
    const newest = Number(/v(\d+)\.metadata\.json$/.exec(mine.metadataLocation)![1]) + 1
    expect(raced).toBe(true)
    expect(await fs.readFile(path.join(metaDir(), 'version-hint.text'), 'utf8')).toBe(String(newest))
  })

  it('reads and appends to a table whose metadata another engine wrote gzipped (v<N>.gz.metadata.json)', async () => {
    const gzId = { namespace: ['analytics'], name: 'gz' }
    const gzDir = path.join(dir, 'analytics/gz/metadata')
    await fs.mkdir(gzDir, { recursive: true })
    const created = newTableMetadata(`${warehouse}/analytics/gz`)
    await fs.writeFile(path.join(gzDir, 'v1.gz.metadata.json'), gzipSync(serializeMetadata(created)))
    await fs.writeFile(path.join(gzDir, 'version-hint.text'), '1')
    const t1 = (await catalog.loadTable(gzId))!
    expect(t1.metadataLocation).toBe(`${warehouse}/analytics/gz/metadata/v1.gz.metadata.json`)
    const sid = snapshotId()
    const t2 = await commitAppend(catalog, gzId, {
      base: t1,
      metadata: await withAppend(io, t1, sid),
      snapshotId: sid,
    })
    expect(t2.metadataLocation).toBe(`${warehouse}/analytics/gz/metadata/v2.metadata.json`)
    expect((await catalog.loadTable(gzId))!.metadata['current-snapshot-id']).toBe(sid)
  })

  it('refuses a table location other than <warehouse>/<namespace>/<table>', async () => {
    const other = { namespace: ['analytics'], name: 'elsewhere' }
    await expect(catalog.createTableIfAbsent(other, newTableMetadata(`${warehouse}/x/y`))).rejects.toThrow(
      /expected location/,
    )
  })
})

describe('hadoop catalog on S3: conditional writes', () => {
  let plain: TestS3
  let enforcing: TestS3

  beforeAll(async () => {
    ;[plain, enforcing] = await Promise.all([startTestS3(), startConditionalTestS3()])
  })
  afterAll(async () => {
    for (const s of [plain, enforcing]) {
      await s?.stop()
      if (s) rmSync(s.dir, { recursive: true, force: true })
    }
  })

  it('plain s3rver ignores If-None-Match (so it cannot test hadoop commits)', async () => {
    const io = s3io(plain, true)
    const uri = `s3://${plain.bucket}/probe/v1.metadata.json`
    expect(await io.writeIfAbsent(uri, new TextEncoder().encode('a'))).toBe(true)
    expect(await io.writeIfAbsent(uri, new TextEncoder().encode('b'))).toBe(true) // overwrote!
    expect(new TextDecoder().decode(await io.read(uri))).toBe('b')
  })

  it('the enforcing test server lets exactly one of concurrent creators win (412 for the rest)', async () => {
    const io = s3io(enforcing, true)
    const uri = `s3://${enforcing.bucket}/probe/v1.metadata.json`
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) => io.writeIfAbsent(uri, new TextEncoder().encode(`writer ${i}`))),
    )
    expect(outcomes.filter(Boolean)).toHaveLength(1)
    const winner = outcomes.indexOf(true)
    expect(new TextDecoder().decode(await io.read(uri))).toBe(`writer ${winner}`)
  })

  it('refuses to run on a store without conditional writes unless explicitly allowed', async () => {
    const io = s3io(plain, false)
    const warehouse = `s3://${plain.bucket}/wh`
    expect(() => new HadoopCatalog({ io, warehouse })).toThrow(ConfigError)
    const warnings: string[] = []
    const unsafe = new HadoopCatalog({
      io,
      warehouse,
      allowUnsafeCommits: true,
      warn: (m) => warnings.push(m),
    })
    const id = { namespace: ['ns'], name: 't' }
    const base = await unsafe.createTableIfAbsent(id, newTableMetadata(`${warehouse}/ns/t`))
    const sid = snapshotId()
    await commitAppend(unsafe, id, { base, metadata: await withAppend(io, base, sid), snapshotId: sid })
    expect(warnings.filter((w) => w.includes('UNSAFE')).length).toBeGreaterThanOrEqual(3)
  })
})
