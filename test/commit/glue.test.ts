/**
 * Glue-specific behaviour, against the recorded-behaviour double of the Glue API
 * (test/support/glue-double.ts) — not AWS Glue, which cannot run here. The shared contract
 * (create, append, conflicts) runs in contract.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GlueCatalog } from '../../src/commit/glue.ts'
import { CommitStateUnknownError, FloeError } from '../../src/errors.ts'
import { fileUri, LocalFileIO } from '../../src/storage/local.ts'
import { startGlueDouble, type GlueDouble } from '../support/glue-double.ts'
import { newTableMetadata, snapshotId, withAppend } from './fixtures.ts'
import { commitAppend } from '../../src/table/append-commit.ts'

describe('glue catalog (recorded-behaviour double of the Glue API)', () => {
  let glue: GlueDouble
  let dir: string
  let warehouse: string
  const io = new LocalFileIO()
  const open = () =>
    new GlueCatalog({
      io,
      region: 'eu-west-1',
      endpoint: glue.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    })

  beforeAll(async () => {
    glue = await startGlueDouble()
    dir = mkdtempSync(path.join(tmpdir(), 'floe-glue-'))
    warehouse = fileUri(dir)
    await open().createNamespaceIfAbsent(['analytics'])
  })
  afterAll(async () => {
    await glue.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('keeps Iceberg tables the way Athena and Java GlueCatalog read them', async () => {
    const catalog = open()
    const id = { namespace: ['analytics'], name: 'shape' }
    const created = await catalog.createTableIfAbsent(id, newTableMetadata(`${warehouse}/analytics/shape`))
    expect(created.metadataLocation).toMatch(
      /\/analytics\/shape\/metadata\/00000-[0-9a-f-]{36}\.metadata\.json$/,
    )
    expect(glue.tables.get('analytics.shape')!.versionId).toBe(0)

    const sid = snapshotId()
    const committed = await commitAppend(catalog, id, {
      base: created,
      metadata: await withAppend(io, created, sid),
      snapshotId: sid,
    })
    expect(committed.metadataLocation).toMatch(/\/metadata\/00001-[0-9a-f-]{36}\.metadata\.json$/)

    const stored = glue.tables.get('analytics.shape')!
    expect(stored.versionId).toBe(1)
    const input = stored.input as {
      TableType: string
      Parameters: Record<string, string>
      StorageDescriptor: {
        Location: string
        Columns: { Name: string; Type: string; Parameters: Record<string, string> }[]
      }
    }
    expect(input.TableType).toBe('EXTERNAL_TABLE')
    expect(input.Parameters).toMatchObject({
      table_type: 'ICEBERG',
      metadata_location: committed.metadataLocation,
      previous_metadata_location: created.metadataLocation,
    })
    expect(input.StorageDescriptor.Location).toBe(`${warehouse}/analytics/shape`)
    const eventTime = input.StorageDescriptor.Columns.find((c) => c.Name === 'event_time')!
    expect(eventTime.Type).toBe('timestamp')
    expect(eventTime.Parameters['iceberg.field.id']).toBe('5')
    const data = input.StorageDescriptor.Columns.find((c) => c.Name === 'event_data')!
    expect(data.Type).toBe('map<string,string>')
    expect(glue.calls.get('UpdateTable')).toBe(1)
  })

  it('a commit whose response was lost (SDK retry then ConcurrentModification) is recognised as landed', async () => {
    const catalog = open()
    const id = { namespace: ['analytics'], name: 'lost_response' }
    const base = await catalog.createTableIfAbsent(
      id,
      newTableMetadata(`${warehouse}/analytics/lost_response`),
    )
    // Glue applies the update, the response is a 500; the SDK retries with the now-stale VersionId.
    glue.failNext('UpdateTable', 'error-after-apply')
    const callsBefore = glue.calls.get('UpdateTable') ?? 0
    const sid = snapshotId()
    const result = await commitAppend(catalog, id, {
      base,
      metadata: await withAppend(io, base, sid),
      snapshotId: sid,
    })
    expect(result.metadata['current-snapshot-id']).toBe(sid)
    const now = (await catalog.loadTable(id))!
    expect(now.metadata.snapshots.map((s) => s['snapshot-id'])).toEqual([sid])
    expect(glue.tables.get('analytics.lost_response')!.versionId).toBe(1)
    expect(glue.calls.get('UpdateTable')).toBe(callsBefore + 2) // the applied call and the SDK's retry
  })

  it('persistent 5xx on UpdateTable is CommitStateUnknownError, not a conflict', async () => {
    const catalog = open()
    const id = { namespace: ['analytics'], name: 'unknown' }
    const base = await catalog.createTableIfAbsent(id, newTableMetadata(`${warehouse}/analytics/unknown`))
    glue.failNext('UpdateTable', 'error-before-apply', 10)
    const sid = snapshotId()
    const commit = commitAppend(catalog, id, {
      base,
      metadata: await withAppend(io, base, sid),
      snapshotId: sid,
    })
    await expect(commit).rejects.toBeInstanceOf(CommitStateUnknownError)
    glue.failNext('UpdateTable', 'error-before-apply', 0)
    expect((await catalog.loadTable(id))!.metadataLocation).toBe(base.metadataLocation)
  })

  it("a CreateTable applied with its answer lost: the SDK retry's AlreadyExists is our own table", async () => {
    const catalog = open()
    const id = { namespace: ['analytics'], name: 'lost_create' }
    glue.failNext('CreateTable', 'error-after-apply')
    const created = await catalog.createTableIfAbsent(
      id,
      newTableMetadata(`${warehouse}/analytics/lost_create`),
    )
    // The file Glue points at is still there: the table loads.
    const loaded = (await catalog.loadTable(id))!
    expect(loaded.metadataLocation).toBe(created.metadataLocation)
    expect(await io.exists(created.metadataLocation)).toBe(true)
  })

  it('an UpdateTable applied with its answer lost, then a throttled retry: landed, not a failure', async () => {
    const catalog = open()
    const id = { namespace: ['analytics'], name: 'throttled' }
    const base = await catalog.createTableIfAbsent(id, newTableMetadata(`${warehouse}/analytics/throttled`))
    glue.failNext('UpdateTable', 'error-after-apply')
    glue.failNext('UpdateTable', 'throttle', 5)
    const sid = snapshotId()
    const result = await commitAppend(catalog, id, {
      base,
      metadata: await withAppend(io, base, sid),
      snapshotId: sid,
    })
    glue.failNext('UpdateTable', 'throttle', 0)
    expect(result.metadata['current-snapshot-id']).toBe(sid)
    expect((await catalog.loadTable(id))!.metadata['current-snapshot-id']).toBe(sid)
  })

  it('refuses a Glue table that is not an Iceberg table', async () => {
    const catalog = open()
    glue.tables.set('analytics.hive_table', {
      input: { Name: 'hive_table', TableType: 'EXTERNAL_TABLE', Parameters: { classification: 'parquet' } },
      versionId: 0,
      databaseName: 'analytics',
    })
    await expect(catalog.loadTable({ namespace: ['analytics'], name: 'hive_table' })).rejects.toThrow(
      FloeError,
    )
    expect(await catalog.listTables(['analytics'])).not.toContainEqual({
      namespace: ['analytics'],
      name: 'hive_table',
    })
  })

  it('rejects multi-level namespaces (Glue databases have one level)', async () => {
    await expect(open().createNamespaceIfAbsent(['a', 'b'])).rejects.toThrow(/one level/)
  })
})
