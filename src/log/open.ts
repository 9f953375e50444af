/**
 * Opens the replicated log `FLOE_LOG` names, with what this process's role needs of it: a producer
 * for receivers, a consumer for writers (`FLOE_ROLE=all` over a replicated log gets both).
 */
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { FloeConfig } from '../config.ts'
import { ConfigError } from '../errors.ts'
import type { SqlClient } from '../storage/sql.ts'
import type { LogConsumer, LogProducer } from './transport.ts'
import { NatsLog } from './nats.ts'
import { PartitionLeases } from './partition-leases.ts'
import { kafkaProducer } from './kafka.ts'
import { kafkaConsumer } from './kafka-consumer.ts'

export interface OpenedLog {
  /** `nats` or `kafka`: the first part of position keys (`<log>/<partition>`). */
  name: string
  /** This process in the log (lease owner, summary `floe.log-writer`). */
  processId: string
  producer?: LogProducer
  consumer?: LogConsumer
  close(): Promise<void>
}

export async function openLog(
  config: Pick<FloeConfig, 'role' | 'log'>,
  deps: {
    sql: Pick<SqlClient, 'query' | 'transaction' | 'dialect'>
    logger?: Pick<Logger, 'info' | 'warn' | 'error'>
  },
): Promise<OpenedLog> {
  const { log, role } = config
  const processId = `${role}-${randomUUID()}`
  if (log.kind === 'nats') {
    const nats = await NatsLog.open({
      servers: log.nats.servers,
      stream: log.nats.stream,
      subjectPrefix: log.nats.subjectPrefix,
      partitions: log.partitions,
      replicas: log.nats.replicas,
      duplicateWindowSeconds: log.nats.duplicateWindowSeconds,
      maxInFlight: log.maxInFlight,
      publishTimeoutMs: log.publishTimeoutMs,
      logger: deps.logger,
    })
    const leaseMs = log.leaseSeconds * 1000
    return {
      name: 'nats',
      processId,
      producer: role === 'writer' ? undefined : nats.producer(),
      consumer:
        role === 'receiver'
          ? undefined
          : nats.consumer(new PartitionLeases(deps.sql, `nats/${log.nats.stream}`, processId, leaseMs), {
              leaseMs,
            }),
      close: () => nats.close(),
    }
  }
  if (log.kind === 'kafka') {
    const options = {
      brokers: log.kafka.brokers,
      topic: log.kafka.topic,
      partitions: log.partitions,
      publishTimeoutMs: log.publishTimeoutMs,
      maxInFlight: log.maxInFlight,
      clientId: processId,
      logger: deps.logger,
    }
    return {
      name: 'kafka',
      processId,
      producer: role === 'writer' ? undefined : kafkaProducer(options),
      // The group's session timeout plays the lease's part: a writer silent for this long loses its
      // partitions (the broker's group.min/max.session.timeout.ms must allow it; docs/kafka.md).
      consumer:
        role === 'receiver'
          ? undefined
          : kafkaConsumer({ ...options, group: log.kafka.group, sessionTimeoutMs: log.leaseSeconds * 1000 }),
      close: async () => {},
    }
  }
  throw new ConfigError('FLOE_LOG', `${log.kind} is not available in this build`)
}
