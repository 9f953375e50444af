/**
 * Recorded-behaviour double of the AWS Glue API — NOT AWS Glue. Glue cannot run on this machine, so
 * the Glue catalog is tested against this small HTTP server speaking Glue's wire protocol (AWS JSON
 * 1.1: `POST /`, `X-Amz-Target: AWSGlue.<Operation>`, JSON body; errors as HTTP 400 with
 * `{"__type": "<Exception>", "Message": …}`) for the operations Floe uses, with the behaviour AWS
 * documents and Iceberg's Glue catalogs rely on (docs/catalogs.md):
 * - CreateDatabase / CreateTable on an existing name → AlreadyExistsException;
 * - GetTable / UpdateTable on a missing database or table → EntityNotFoundException;
 * - every table has a `VersionId` ("0" at creation, +1 per UpdateTable); UpdateTable with a
 *   `VersionId` other than the current one → ConcurrentModificationException and no change;
 *   without a `VersionId` it overwrites unconditionally.
 * Signatures are not verified (an Authorization header must be present). `failNext` injects
 * faults (a 500 before or after applying an update) to test commit-state handling.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

interface StoredTable {
  input: Record<string, unknown>
  versionId: number
  databaseName: string
}

/** 500 before or after applying the call, or 400 ThrottlingException (as Glue throttles). */
type Fault = 'error-before-apply' | 'error-after-apply' | 'throttle'

export interface GlueDouble {
  endpoint: string
  /** Table state, for assertions: `db.table` → stored TableInput + version. */
  tables: Map<string, StoredTable>
  /** Operation counts, e.g. `calls.get('UpdateTable')`. */
  calls: Map<string, number>
  /**
   * Make the next `times` calls of `operation` fail with `fault`. Calls queue up: a fault given
   * while another is pending applies after it. `times` 0 clears the operation's queue.
   */
  failNext(operation: string, fault: Fault, times?: number): void
  close(): Promise<void>
}

class GlueError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message)
  }
}

export async function startGlueDouble(): Promise<GlueDouble> {
  const databases = new Map<string, Record<string, unknown>>()
  const tables = new Map<string, StoredTable>()
  const calls = new Map<string, number>()
  const faults = new Map<string, Array<{ fault: Fault; times: number }>>()

  const tableView = (t: StoredTable) => ({
    ...t.input,
    DatabaseName: t.databaseName,
    VersionId: String(t.versionId),
  })
  const needDb = (name: unknown): string => {
    if (typeof name !== 'string' || !databases.has(name)) {
      throw new GlueError('EntityNotFoundException', `Database ${String(name)} not found.`)
    }
    return name
  }
  const needTable = (db: string, name: unknown): StoredTable => {
    const t = tables.get(`${db}.${String(name)}`)
    if (!t) throw new GlueError('EntityNotFoundException', `Table ${String(name)} not found.`)
    return t
  }

  const operations: Record<string, (req: Record<string, any>) => unknown> = {
    CreateDatabase(req) {
      const name = req.DatabaseInput?.Name
      if (databases.has(name)) throw new GlueError('AlreadyExistsException', 'Database already exists.')
      databases.set(name, req.DatabaseInput)
      return {}
    },
    GetDatabases() {
      return { DatabaseList: [...databases.values()] }
    },
    CreateTable(req) {
      const db = needDb(req.DatabaseName)
      const key = `${db}.${req.TableInput?.Name}`
      if (tables.has(key)) throw new GlueError('AlreadyExistsException', 'Table already exists.')
      tables.set(key, { input: req.TableInput, versionId: 0, databaseName: db })
      return {}
    },
    GetTable(req) {
      return { Table: tableView(needTable(needDb(req.DatabaseName), req.Name)) }
    },
    GetTables(req) {
      const db = needDb(req.DatabaseName)
      return { TableList: [...tables.values()].filter((t) => t.databaseName === db).map(tableView) }
    },
    UpdateTable(req) {
      const t = needTable(needDb(req.DatabaseName), req.TableInput?.Name)
      if (req.VersionId !== undefined && req.VersionId !== String(t.versionId)) {
        throw new GlueError(
          'ConcurrentModificationException',
          'Update table failed due to concurrent modifications.',
        )
      }
      t.input = req.TableInput
      t.versionId++
      return {}
    },
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' })
        res.end(JSON.stringify(body))
      }
      const target = String(req.headers['x-amz-target'] ?? '')
      const op = target.startsWith('AWSGlue.') ? target.slice('AWSGlue.'.length) : ''
      const handler = operations[op]
      if (!handler || req.method !== 'POST') {
        return send(400, { __type: 'UnknownOperationException', Message: `not in this double: ${target}` })
      }
      if (!req.headers.authorization) {
        return send(400, {
          __type: 'MissingAuthenticationTokenException',
          Message: 'Missing Authentication Token',
        })
      }
      calls.set(op, (calls.get(op) ?? 0) + 1)
      const queue = faults.get(op) ?? []
      const fault = queue[0]?.fault
      if (queue[0] && --queue[0].times <= 0) queue.shift()
      if (fault === 'error-before-apply')
        return send(500, { __type: 'InternalServiceException', Message: 'injected' })
      if (fault === 'throttle') return send(400, { __type: 'ThrottlingException', Message: 'Rate exceeded' })
      try {
        const out = handler(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'))
        if (fault === 'error-after-apply')
          return send(500, { __type: 'InternalServiceException', Message: 'injected' })
        send(200, out)
      } catch (err) {
        if (err instanceof GlueError) return send(400, { __type: err.type, Message: err.message })
        send(500, { __type: 'InternalServiceException', Message: String(err) })
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    tables,
    calls,
    failNext: (operation, fault, times = 1) => {
      if (times <= 0) return void faults.delete(operation)
      faults.set(operation, [...(faults.get(operation) ?? []), { fault, times }])
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
