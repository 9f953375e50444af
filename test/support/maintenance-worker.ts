/**
 * A maintenance process to kill (test/maintenance/crash.test.ts):
 *   node --import tsx test/support/maintenance-worker.ts <databaseUrl> <warehouseUri> <catalogName> <batchRows> [compact|expire] [spillDir]
 * Prints `ready`, then either compacts pa_events (every partition quiet), printing `staged` once
 * the new files and manifest are written and the commit is about to start (then pauses 300 ms so
 * the test can kill it right there), or expires every snapshot but the last two and deletes the
 * files only they reached; `done <json>` at the end.
 */
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { LocalFileIO } from '../../src/storage/local.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { compactTable } from '../../src/maintenance/compact.ts'
import { expireSnapshots } from '../../src/maintenance/expire.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'

const [databaseUrl, , catalogName, batchRowsArg, mode = 'compact', spillDir] = process.argv.slice(2)
const sql = new PgSql(databaseUrl, { max: 2 })
const io = new LocalFileIO()
const catalog = new JdbcCatalog({ sql, io, name: catalogName })
process.stdout.write('ready\n')
const id = { namespace: ['analytics'], name: 'pa_events' }
const result =
  mode === 'expire'
    ? await expireSnapshots({ catalog, io, id, policy: { maxSnapshotAgeMs: 0n, maxSnapshots: 2 } })
    : await compactTable({
        io,
        catalog,
        id: { namespace: ['analytics'], name: 'pa_events' },
        definition: loadTableDefinitions().pa_events,
        quietMs: 0,
        batchRows: Number(batchRowsArg),
        spillDir,
        beforeCommit: async () => {
          process.stdout.write('staged\n')
          await new Promise((r) => setTimeout(r, 300))
        },
      })
process.stdout.write(`done ${JSON.stringify(result)}\n`)
await sql.close()
