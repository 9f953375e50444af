/**
 * Iceberg Java's own `JdbcCatalog`, with the SQLite JDBC driver (org.xerial:sqlite-jdbc), opens
 * the embedded default's catalog file `<FLOE_DATA_DIR>/floe.sqlite` as Floe left it: it lists the
 * namespace's tables, loads pa_events and pa_sessions through Floe's rows in `iceberg_tables`, and
 * a full IcebergGenerics scan returns exactly the events sent (and equals icebird's scan).
 *
 * Floe holds the file locked while it runs (one process owns the embedded database), so Java
 * opens it after Floe stopped, which is also what checks that a clean stop leaves a file any
 * SQLite reader opens (its WAL checkpointed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { DatabaseSync } from 'node:sqlite'
import path from 'node:path'
import { installFetchShim, readWithIcebird } from '../e2e/readback.ts'
import {
  buildIcebergJava,
  linesOf,
  runIcebergJava,
  type JavaCatalog,
  type JavaLine,
} from './support/java-iceberg.ts'
import {
  CATALOG_NAME,
  NAMESPACE,
  knownRounds,
  sendRound,
  startFloe,
  type ExpectedEvent,
  type FloeFixture,
} from './support/floe-fixture.ts'
import { expectEventsEqual, expectRowsEqualIcebird } from './support/java-checks.ts'

let floe: FloeFixture
const expected: ExpectedEvent[] = []
let lines: JavaLine[]
let metadata: Record<string, string>

beforeAll(async () => {
  const build = buildIcebergJava()
  installFetchShim()
  floe = await startFloe({ catalogType: 'jdbc', dbPrefix: 'unused', embedded: true })
  for (const round of knownRounds(floe.sites)) expected.push(...(await sendRound(floe, round)))
  await floe.stop()
  const file = path.join(floe.dataDir, 'floe.sqlite')
  expect(existsSync(file)).toBe(true)
  // The pointers as the file holds them, read with SQLite itself (not Floe's client).
  const db = new DatabaseSync(file, { readOnly: true })
  const pointers = db
    .prepare('SELECT table_name, metadata_location, iceberg_type FROM iceberg_tables WHERE catalog_name = ?')
    .all(CATALOG_NAME) as { table_name: string; metadata_location: string; iceberg_type: string }[]
  db.close()
  expect(pointers.map((p) => [p.table_name, p.iceberg_type]).sort()).toEqual([
    ['pa_events', 'TABLE'],
    ['pa_rejected', 'TABLE'],
    ['pa_sessions', 'TABLE'],
  ])
  metadata = Object.fromEntries(pointers.map((p) => [p.table_name, p.metadata_location]))
  const catalog: JavaCatalog = {
    type: 'jdbc',
    name: CATALOG_NAME,
    namespace: NAMESPACE,
    properties: {
      uri: `jdbc:sqlite:${file}`,
      'jdbc.schema-version': 'V1',
      warehouse: `file://${floe.warehouse}`,
    },
  }
  await build
  lines = await runIcebergJava(catalog, [
    { op: 'list-tables' },
    { op: 'info', table: 'pa_events' },
    { op: 'scan', table: 'pa_events' },
    { op: 'scan', table: 'pa_sessions' },
  ])
})

afterAll(async () => {
  await floe?.close()
})

describe("Iceberg Java's JdbcCatalog on the embedded SQLite file", () => {
  it('lists pa_events, pa_sessions and pa_rejected and loads the snapshot Floe committed', () => {
    expect(linesOf(lines, 'tables')[0].names).toEqual(
      expect.arrayContaining([
        `${NAMESPACE}.pa_events`,
        `${NAMESPACE}.pa_sessions`,
        `${NAMESPACE}.pa_rejected`,
      ]),
    )
    expect(linesOf(lines, 'tables')[0].names).toHaveLength(3)
    const [info] = linesOf(lines, 'info')
    expect(info.table).toBe(`${CATALOG_NAME}.${NAMESPACE}.pa_events`)
    expect(info.location).toBe(`file://${floe.warehouse}/${NAMESPACE}/pa_events`)
    expect((info.snapshots as { operation: string }[]).map((s) => s.operation)).toEqual(['append', 'append'])
  })

  it('scans exactly the events sent, value by value, as icebird does', async () => {
    const rows = linesOf(lines, 'row', 'pa_events').map((l) => l.row as Record<string, unknown>)
    expectEventsEqual(rows, expected)
    await expectRowsEqualIcebird(rows, await readWithIcebird(metadata.pa_events))
  })

  it('scans the session rows Floe wrote', async () => {
    const sessions = linesOf(lines, 'row', 'pa_sessions').map((l) => l.row as Record<string, unknown>)
    expect(sessions.length).toBeGreaterThan(1)
    await expectRowsEqualIcebird(sessions, await readWithIcebird(metadata.pa_sessions))
  })
})
