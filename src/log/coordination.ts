/**
 * Wiring of coordinated commits for a writer process (FLOE_LOG_COMMIT_COORDINATOR): the request
 * store, this process's candidacy as coordinator of every table, and the append the LogWriter uses
 * (stage + request + wait). Kept here so app.ts only asks for it.
 */
import type { Logger } from 'pino'
import type { FloeConfig } from '../config.ts'
import { TABLE_NAMES } from '../rows.ts'
import type { SqlClient } from '../storage/sql.ts'
import type { TableWriter } from '../write/append.ts'
import { MaintenanceLeases } from '../maintenance/lease.ts'
import { CommitRequests } from './commit-requests.ts'
import { CommitCoordinator } from './commit-coordinator.ts'
import { coordinatedWriter, type CoordinatedWriter } from './coordinated-append.ts'
import type { OpenedLog } from './open.ts'

export interface Coordination {
  writer: CoordinatedWriter
  coordinator: CommitCoordinator
  start(): Promise<void>
  close(): Promise<void>
}

export function openCoordination(
  config: Pick<FloeConfig, 'log' | 'iceberg'>,
  log: Pick<OpenedLog, 'processId'>,
  deps: {
    sql: Pick<SqlClient, 'query' | 'transaction' | 'dialect' | 'listen'>
    writer: TableWriter
    logger?: Pick<Logger, 'info' | 'warn' | 'error'>
  },
): Coordination {
  const requests = new CommitRequests(deps.sql)
  const leaseMs = config.log.leaseSeconds * 1000
  const coordinator = new CommitCoordinator({
    tables: TABLE_NAMES,
    namespace: config.iceberg.namespace,
    requests,
    leases: new MaintenanceLeases(deps.sql, log.processId, leaseMs),
    writer: deps.writer,
    id: log.processId,
    intervalMs: config.log.commitIntervalMs,
    leaseMs,
    logger: deps.logger,
  })
  const writer = coordinatedWriter({
    writer: deps.writer,
    requests,
    writerId: log.processId,
    logger: deps.logger,
  })
  return {
    writer,
    coordinator,
    async start() {
      await writer.start()
      await coordinator.start()
    },
    async close() {
      writer.close()
      await coordinator.close()
    },
  }
}
