/**
 * The catalog contract, written once and run for every catalog type (issue: catalog types by env):
 * create (idempotent; concurrent creators converge), reload, conflict (stale base), append through
 * the table writer, and concurrent appends (all land, snapshot chain intact).
 * Set-ups per type are in catalogs.ts; Glue runs against its recorded-behaviour double.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Catalog, TableIdentifier } from '../../src/table/catalog.ts'
import { CommitConflictError } from '../../src/errors.ts'
import { createTableWriter } from '../../src/write/append.ts'
import { installFetchShim, readWithIcebird } from '../e2e/readback.ts'
import { currentManifests } from '../../src/write/manifest-list.ts'
import type { TableMetadata } from '../../src/table/metadata.ts'
import { setups, type CatalogUnderTest } from './catalogs.ts'
import { eventRows, newTableMetadata, snapshotId, withAppend } from './fixtures.ts'
import { commitAppend } from '../../src/table/append-commit.ts'

const NS = ['contract']

/** Snapshot ids from the current one back to the first, following parent ids. */
function chain(md: TableMetadata): bigint[] {
  const byId = new Map(md.snapshots.map((s) => [s['snapshot-id'], s]))
  const out: bigint[] = []
  for (let id: bigint | undefined = md['current-snapshot-id']; id !== undefined && id !== -1n;) {
    const snap = byId.get(id)
    if (!snap) throw new Error(`snapshot ${id} missing from metadata: chain broken`)
    out.push(id)
    id = snap['parent-snapshot-id']
  }
  return out
}

/** Rows in the current snapshot according to its manifests (the files the table really lists). */
async function rowsInTable(env: CatalogUnderTest, md: TableMetadata): Promise<bigint> {
  const manifests = await currentManifests(env.io, md)
  return manifests.reduce((n, m) => n + m.added_rows_count + m.existing_rows_count, 0n)
}

describe.each(setups)('catalog contract: %s', (_label, setup) => {
  let env: CatalogUnderTest
  let catalog: Catalog
  let n = 0
  /** A fresh table name per case, so cases do not depend on each other. */
  const table = (): TableIdentifier => ({ namespace: NS, name: `t${++n}_${Date.now() % 100000}` })
  const location = (id: TableIdentifier) => [env.warehouse, ...id.namespace, id.name].join('/')

  beforeAll(async () => {
    env = await setup()
    catalog = env.open()
    await catalog.createNamespaceIfAbsent(NS)
  })
  afterAll(async () => env?.teardown())

  it('creates a table, and creating it again returns the existing one', async () => {
    const id = table()
    await catalog.createNamespaceIfAbsent(NS) // idempotent
    const created = await catalog.createTableIfAbsent(id, newTableMetadata(location(id)))
    expect(created.metadata['current-snapshot-id']).toBe(-1n)
    expect(created.metadata.location).toBe(location(id))

    const again = await catalog.createTableIfAbsent(id, newTableMetadata(location(id)))
    expect(again.metadataLocation).toBe(created.metadataLocation)
    expect(again.metadata['table-uuid']).toBe(created.metadata['table-uuid'])

    expect(await catalog.listNamespaces()).toContainEqual(NS)
    expect(await catalog.listTables(NS)).toContainEqual(id)
    expect(await catalog.loadTable({ namespace: NS, name: 'no_such_table' })).toBeUndefined()
  })

  it('concurrent creators (separate clients) converge on one table', async () => {
    const id = table()
    const clients = [env.open(), env.open(), env.open(), env.open()]
    const results = await Promise.all(
      clients.map((c) => c.createTableIfAbsent(id, newTableMetadata(location(id)))),
    )
    const uuids = new Set(results.map((r) => r.metadata['table-uuid']))
    const locations = new Set(results.map((r) => r.metadataLocation))
    expect(uuids.size).toBe(1)
    expect(locations.size).toBe(1)
    const loaded = await env.open().loadTable(id)
    expect(loaded?.metadataLocation).toBe([...locations][0])
  })

  it('commits an append and a new client reloads it, 63-bit ids intact', async () => {
    const id = table()
    const base = await catalog.createTableIfAbsent(id, newTableMetadata(location(id)))
    const sid = snapshotId()
    expect(sid > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true)
    const committed = await commitAppend(catalog, id, {
      base,
      metadata: await withAppend(env.io, base, sid, 7),
      snapshotId: sid,
    })
    expect(committed.metadataLocation).not.toBe(base.metadataLocation)
    expect(committed.metadata['current-snapshot-id']).toBe(sid)

    const reloaded = (await env.open().loadTable(id))!
    expect(reloaded.metadataLocation).toBe(committed.metadataLocation)
    expect(reloaded.metadata['current-snapshot-id']).toBe(sid)
    expect(reloaded.metadata.refs.main['snapshot-id']).toBe(sid)
    const snap = reloaded.metadata.snapshots.find((s) => s['snapshot-id'] === sid)!
    expect(snap['sequence-number']).toBe(1n)
    expect(snap.summary['added-records']).toBe('7')
    expect(reloaded.metadata['last-sequence-number']).toBe(1n)

    // A second append on the reloaded state chains onto the first.
    const sid2 = snapshotId()
    await commitAppend(catalog, id, {
      base: reloaded,
      metadata: await withAppend(env.io, reloaded, sid2),
      snapshotId: sid2,
    })
    const after = (await catalog.loadTable(id))!
    expect(after.metadata['current-snapshot-id']).toBe(sid2)
    expect(after.metadata.snapshots.find((s) => s['snapshot-id'] === sid2)?.['parent-snapshot-id']).toBe(sid)
  })

  it('a commit on a stale base is a CommitConflictError and changes nothing', async () => {
    const id = table()
    const base = await catalog.createTableIfAbsent(id, newTableMetadata(location(id)))
    const winner = snapshotId()
    const won = await commitAppend(catalog, id, {
      base,
      metadata: await withAppend(env.io, base, winner),
      snapshotId: winner,
    })

    const loser = snapshotId()
    const stale = commitAppend(env.open(), id, {
      base,
      metadata: await withAppend(env.io, base, loser),
      snapshotId: loser,
    })
    await expect(stale).rejects.toBeInstanceOf(CommitConflictError)

    const now = (await catalog.loadTable(id))!
    expect(now.metadataLocation).toBe(won.metadataLocation)
    expect(now.metadata['current-snapshot-id']).toBe(winner)
    expect(now.metadata.snapshots.some((s) => s['snapshot-id'] === loser)).toBe(false)
  })

  it('of two commits racing on the same base exactly one wins', async () => {
    const id = table()
    const base = await catalog.createTableIfAbsent(id, newTableMetadata(location(id)))
    const ids = [snapshotId(), snapshotId(), snapshotId()]
    const metas = await Promise.all(ids.map((sid) => withAppend(env.io, base, sid)))
    const clients = ids.map(() => env.open())
    const outcomes = await Promise.allSettled(
      ids.map((sid, i) => commitAppend(clients[i], id, { base, metadata: metas[i], snapshotId: sid })),
    )
    const won = outcomes.filter((o) => o.status === 'fulfilled')
    const lost = outcomes.filter((o) => o.status === 'rejected') as PromiseRejectedResult[]
    expect(won).toHaveLength(1)
    for (const l of lost) expect(l.reason).toBeInstanceOf(CommitConflictError)
    const now = (await catalog.loadTable(id))!
    expect(now.metadata.snapshots).toHaveLength(1)
    expect(ids).toContain(now.metadata['current-snapshot-id'])
  })

  it('appends through the table writer; a new client reloads the snapshot and its files', async () => {
    const namespace = ['appends']
    const writer = createTableWriter({ catalog, io: env.io, namespace, warehouse: env.warehouse })
    await writer.ensureTables()
    await writer.ensureTables() // idempotent
    const first = await writer.append('pa_events', eventRows('a', 10))
    const second = await writer.append('pa_events', eventRows('b', 4))
    expect(first.attempts).toBe(1)

    const loaded = (await env.open().loadTable({ namespace, name: 'pa_events' }))!
    expect(loaded.metadataLocation).toBe(second.metadataLocation)
    expect(chain(loaded.metadata)).toEqual([second.snapshotId, first.snapshotId])
    expect(await rowsInTable(env, loaded.metadata)).toBe(14n)
    expect(loaded.metadata.snapshots.at(-1)!.summary['total-records']).toBe('14')
    expect(await catalog.listTables(namespace)).toEqual(
      expect.arrayContaining([
        { namespace, name: 'pa_events' },
        { namespace, name: 'pa_sessions' },
      ]),
    )
  })

  it('concurrent appends: 3 writers (own clients) x 5 appends all land, chain intact', async () => {
    const namespace = ['concurrent']
    // Each writer's first commit waits until all three are ready to commit, so all three build on
    // the same base and two of them must go through conflict → reload → rebuild. Later rounds
    // interleave freely.
    let arrived = 0
    let release!: () => void
    const allReady = new Promise<void>((r) => (release = r))
    const gated = (c: Catalog): Catalog => {
      let first = true
      return new Proxy(c, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target) as unknown
          if (prop === 'commit' && first) {
            return async (...args: Parameters<Catalog['commit']>) => {
              if (first) {
                first = false
                if (++arrived === 3) release()
                await allReady
              }
              return target.commit(...args)
            }
          }
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
        },
      })
    }
    const writers = [0, 1, 2].map(() =>
      createTableWriter({ catalog: gated(env.open()), io: env.io, namespace, warehouse: env.warehouse }),
    )
    // No ensureTables first: the writers also race to create the namespace and table.
    const results = await Promise.all(
      writers.map(async (w, wi) => {
        const out = []
        for (let i = 0; i < 5; i++) out.push(await w.append('pa_events', eventRows(`w${wi}-${i}`, 3)))
        return out
      }),
    )
    const all = results.flat()
    expect(all.reduce((n, r) => n + r.attempts, 0)).toBeGreaterThanOrEqual(15 + 2)

    const loaded = (await env.open().loadTable({ namespace, name: 'pa_events' }))!
    const ids = chain(loaded.metadata)
    expect(ids).toHaveLength(15)
    expect(new Set(ids)).toEqual(new Set(all.map((r) => r.snapshotId)))
    // Sequence numbers 15..1 along the chain: every commit was rebuilt on its real parent.
    const seq = ids.map(
      (id) => loaded.metadata.snapshots.find((s) => s['snapshot-id'] === id)!['sequence-number'],
    )
    expect(seq).toEqual(Array.from({ length: 15 }, (_, i) => BigInt(15 - i)))
    expect(await rowsInTable(env, loaded.metadata)).toBe(45n)
    expect(loaded.metadata.snapshots.find((s) => s['snapshot-id'] === ids[0])!.summary['total-records']).toBe(
      '45',
    )

    // Every row of every writer, read by an independent reader (icebird) from the current snapshot.
    installFetchShim(env.s3Endpoint)
    const rows = await readWithIcebird(loaded.metadataLocation)
    const names = rows.map((r) => String(r.event_name)).sort()
    const expected = [0, 1, 2].flatMap((w) =>
      [0, 1, 2, 3, 4].flatMap((i) => eventRows(`w${w}-${i}`, 3).map((r) => String(r.event_name))),
    )
    expect(names).toEqual(expected.sort())
  })
})
