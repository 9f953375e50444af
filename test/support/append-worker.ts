/**
 * One writer process for test/write/append-concurrency.test.ts:
 *   node --import tsx test/support/append-worker.ts <databaseUrl> <warehouseUri> <catalogName> <writerId> <appends> <rowsPerAppend>
 * Opens its own Postgres pool, FileIO, JdbcCatalog and TableWriter, prints `ready`, waits for `go`
 * on stdin (so all writers start together), appends, and prints one JSON line with its results.
 */
import { createInterface } from 'node:readline'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { LocalFileIO } from '../../src/storage/local.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { createTableWriter } from '../../src/write/append.ts'
import { sampleEvents } from './rows.ts'

const [databaseUrl, warehouse, catalogName, writerArg, appendsArg, rowsArg] = process.argv.slice(2)
const writerId = Number(writerArg)
const appends = Number(appendsArg)
const rowsPerAppend = Number(rowsArg)

const sql = new PgSql(databaseUrl, { max: 2 })
const io = new LocalFileIO()
const catalog = new JdbcCatalog({ sql, io, name: catalogName })
const writer = createTableWriter({ catalog, io, namespace: ['analytics'], warehouse })

// All writers race table creation too: they must converge on one table.
await writer.ensureTables()
process.stdout.write('ready\n')
const lines = createInterface({ input: process.stdin })
await new Promise<void>((resolve) => lines.once('line', () => resolve()))
lines.close()

const attempts: number[] = []
const snapshotIds: string[] = []
for (let a = 0; a < appends; a++) {
  const r = await writer.append('pa_events', sampleEvents(rowsPerAppend, writerId, a * rowsPerAppend), {
    summary: { 'floe.test-writer': String(writerId), 'floe.test-append': String(a) },
  })
  attempts.push(r.attempts)
  snapshotIds.push(r.snapshotId.toString())
}
await sql.close()
process.stdout.write(JSON.stringify({ writerId, attempts, snapshotIds }) + '\n')
