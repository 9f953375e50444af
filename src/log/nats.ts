/**
 * The replicated log on NATS JetStream (official `@nats-io/jetstream` + `@nats-io/transport-node`,
 * pure JavaScript).
 *
 * - One stream (`FLOE_NATS_STREAM`, created if missing) with one subject per partition,
 *   `<FLOE_NATS_SUBJECT_PREFIX>.<p>`, p = FNV-1a(site id) mod `FLOE_LOG_PARTITIONS` (partition.ts).
 *   A partition's position is the stream sequence of its messages: it only grows.
 * - Producer: every record is published with `Nats-Msg-Id` and its PubAck awaited (stored, and
 *   replicated to the stream's replicas, before the ack). A publish that timed out is retried once
 *   with the same id, so the stream's duplicate window stores it once. Publishes in flight are
 *   bounded (`FLOE_LOG_MAX_IN_FLIGHT`); past it, or when NATS does not answer, `LogUnavailableError`.
 * - Consumer: JetStream has no consumer groups, so writers share the partitions through leases in
 *   Floe's database (partition-leases.ts). For each partition it owns, a writer reads with an ordered
 *   (ephemeral, flow-controlled, self-healing) pull consumer filtered to the partition's subject,
 *   starting after the position the tables hold (`assigned`).
 * - `commit` purges the partition's messages up to the committed position: the tables hold them,
 *   so the stream's storage stays bounded by what writers have not committed yet.
 */
import { randomUUID } from 'node:crypto'
import { connect, headers, nanos, type NatsConnection } from '@nats-io/transport-node'
import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  JetStreamApiError,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream'
import type { Logger } from 'pino'
import { LogUnavailableError } from '../errors.ts'
import type {
  ConsumerHandler,
  LogConsumer,
  LogProducer,
  LogRecordIn,
  LogRecordOut,
  Positions,
} from './transport.ts'
import { partitionOf } from './partition.ts'
import { shareOf, type PartitionLeases } from './partition-leases.ts'

export interface NatsLogOptions {
  servers: string[]
  stream: string
  subjectPrefix: string
  partitions: number
  replicas: number
  duplicateWindowSeconds: number
  maxInFlight: number
  publishTimeoutMs: number
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>
}

/** The record's key (site id) travels as a header: the subject names only its partition. */
const KEY_HEADER = 'Floe-Key'

/** Records handed to the writer at once (at most). */
const BATCH = 500

export class NatsLog {
  private constructor(
    readonly o: NatsLogOptions,
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
  ) {}

  /** Connects (retrying in the background once connected) and creates the stream if it is missing. */
  static async open(o: NatsLogOptions): Promise<NatsLog> {
    let nc: NatsConnection
    try {
      nc = await connect({
        servers: o.servers,
        name: `floe-${process.pid}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        timeout: o.publishTimeoutMs,
      })
    } catch (err) {
      throw new LogUnavailableError(`NATS at ${o.servers.join(',')} is unreachable`, 5, err)
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: o.publishTimeoutMs })
      const log = new NatsLog(o, nc, jetstream(nc, { timeout: o.publishTimeoutMs }), jsm)
      await log.ensureStream()
      return log
    } catch (err) {
      await nc.close().catch(() => undefined)
      throw err
    }
  }

  /** Partition names are `<stream>/<p>`: they name the stream too, so positions never mix. */
  partitionName(p: number): string {
    return `${this.o.stream}/${p}`
  }

  partitionNames(): string[] {
    return Array.from({ length: this.o.partitions }, (_, p) => this.partitionName(p))
  }

  subjectOf(partition: string): string {
    return `${this.o.subjectPrefix}.${partition.slice(partition.lastIndexOf('/') + 1)}`
  }

  private async ensureStream(): Promise<void> {
    const subjects = [`${this.o.subjectPrefix}.*`]
    try {
      const info = await this.jsm.streams.info(this.o.stream)
      if (!info.config.subjects?.includes(subjects[0]))
        this.o.logger?.warn(
          { stream: this.o.stream, subjects: info.config.subjects },
          'the NATS stream does not carry FLOE_NATS_SUBJECT_PREFIX.*: publishes will fail',
        )
      return
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.status !== 404) throw err
    }
    try {
      await this.jsm.streams.add({
        name: this.o.stream,
        subjects,
        num_replicas: this.o.replicas,
        duplicate_window: nanos(this.o.duplicateWindowSeconds * 1000),
      })
    } catch (err) {
      // Another process starting at the same moment created it first: fine if it is there now.
      await this.jsm.streams.info(this.o.stream).catch(() => {
        throw err
      })
      return
    }
    this.o.logger?.info({ stream: this.o.stream, subjects }, 'created the NATS stream')
  }

  producer(): LogProducer {
    return new NatsProducer(this)
  }

  consumer(leases: PartitionLeases, o: { leaseMs: number }): LogConsumer {
    return new NatsConsumer(this, leases, o.leaseMs)
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close())
  }
}

class NatsProducer implements LogProducer {
  private inFlight = 0
  /** Message ids: unique per process (random prefix) and record. */
  private readonly idPrefix = randomUUID()
  private next = 0

  constructor(private readonly log: NatsLog) {}

  async publish(records: LogRecordOut[]): Promise<void> {
    const { maxInFlight, partitions } = this.log.o
    if (this.inFlight > 0 && this.inFlight + records.length > maxInFlight)
      throw new LogUnavailableError(`too many publishes in flight (FLOE_LOG_MAX_IN_FLIGHT=${maxInFlight})`, 1)
    this.inFlight += records.length
    try {
      await Promise.all(
        records.map((r) =>
          this.publishOne(
            this.log.subjectOf(this.log.partitionName(partitionOf(r.key, partitions))),
            r.value,
            r.key,
            `${this.idPrefix}-${this.next++}`,
          ),
        ),
      )
    } finally {
      this.inFlight -= records.length
    }
  }

  private async publishOne(subject: string, value: Uint8Array, key: string, msgID: string): Promise<void> {
    const timeout = Math.max(50, Math.floor(this.log.o.publishTimeoutMs / 2))
    const h = headers()
    h.set(KEY_HEADER, key)
    let lastErr: unknown
    // A second attempt with the same Nats-Msg-Id: if the first was stored after all, the stream's
    // duplicate window answers `duplicate` instead of storing it twice.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.log.js.publish(subject, value, { msgID, timeout, headers: h })
        return
      } catch (err) {
        lastErr = err
        if (this.log.nc.isClosed()) break
      }
    }
    throw new LogUnavailableError('NATS JetStream did not acknowledge the events', 5, lastErr)
  }

  async close(): Promise<void> {}
}

interface Reader {
  messages: ConsumerMessages | undefined
  stopped: boolean
  done: Promise<void>
}

class NatsConsumer implements LogConsumer {
  private handler: ConsumerHandler | undefined
  private readonly readers = new Map<string, Reader>()
  private timer: NodeJS.Timeout | undefined
  private ticking: Promise<void> = Promise.resolve()
  private renewing = false
  private rebalancing = false
  /** Leases this writer holds (read or being assigned). */
  private readonly held = new Set<string>()
  /** Leases found taken by another writer (or possibly run out): revoked at the next rebalance. */
  private readonly lost = new Set<string>()
  private members: string[] = []
  private lastRenewal = 0
  private closed = false
  private readonly purged = new Map<string, number>()

  constructor(
    private readonly log: NatsLog,
    private readonly leases: PartitionLeases,
    private readonly leaseMs: number,
  ) {}

  async start(handler: ConsumerHandler): Promise<void> {
    this.handler = handler
    await this.renew()
    await this.rebalance()
    const every = Math.max(250, Math.floor(this.leaseMs / 3))
    // Renewal never waits for the handler (a commit in flight, a table load): a slow writer must
    // not lose its leases, and with them its membership, for being busy.
    this.timer = setInterval(() => {
      if (this.renewing) return
      this.renewing = true
      void this.renew()
        .catch(() => undefined)
        .finally(() => {
          this.renewing = false
          if (!this.rebalancing) {
            this.rebalancing = true
            this.ticking = this.rebalance()
              .catch((err: unknown) => this.log.o.logger?.warn({ err }, 'log partition rebalance failed'))
              .finally(() => (this.rebalancing = false))
          }
        })
    }, every)
    this.timer.unref()
  }

  /** Renews membership and the leases held; a lease found taken is given up. */
  private async renew(): Promise<void> {
    if (this.closed) return
    try {
      this.members = await this.leases.heartbeat()
      const held = [...this.held]
      const renewed = held.length > 0 ? await this.leases.acquire(held) : []
      this.lastRenewal = Date.now()
      for (const p of held) if (!renewed.includes(p)) this.lost.add(p)
    } catch (err) {
      this.log.o.logger?.warn({ err }, 'renewing log partition leases failed')
      // Our leases may run out meanwhile: stop before another writer starts on them.
      if (Date.now() - this.lastRenewal > this.leaseMs) for (const p of this.held) this.lost.add(p)
    }
  }

  /** Gives up partitions lost or meant for others; takes free ones meant for us. */
  private async rebalance(): Promise<void> {
    if (this.closed) return
    const handler = this.handler!
    const mine = shareOf(this.log.partitionNames(), this.members, this.leases.owner)
    const lost = [...this.lost].filter((p) => this.held.has(p))
    this.lost.clear()
    const giveUp = [...this.held].filter((p) => !mine.includes(p) && !lost.includes(p))
    const gone = [...lost, ...giveUp]
    if (gone.length > 0) {
      await this.stopReading(gone)
      await handler.revoked(gone)
      for (const p of gone) this.held.delete(p)
      if (giveUp.length > 0) await this.leases.release(giveUp)
      this.log.o.logger?.info({ lost, givenUp: giveUp }, 'log partitions revoked')
    }
    const wanted = mine.filter((p) => !this.held.has(p))
    if (wanted.length === 0 || this.closed) return
    const fresh = await this.leases.acquire(wanted)
    if (fresh.length === 0) return
    for (const p of fresh) this.held.add(p)
    const positions = await handler.assigned(fresh)
    for (const p of fresh) this.read(p, positions[p])
    this.log.o.logger?.info({ partitions: fresh, positions }, 'log partitions assigned')
  }

  private read(partition: string, after: number | undefined): void {
    const reader: Reader = { messages: undefined, stopped: false, done: Promise.resolve() }
    this.readers.set(partition, reader)
    reader.done = this.readLoop(partition, after ?? 0, reader)
  }

  private async readLoop(partition: string, after: number, reader: Reader): Promise<void> {
    let last = after
    while (!reader.stopped && !this.closed) {
      try {
        const consumer = await this.log.js.consumers.get(this.log.o.stream, {
          filter_subjects: this.log.subjectOf(partition),
          ...(last > 0
            ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: last + 1 }
            : { deliver_policy: DeliverPolicy.All }),
        })
        const messages = await consumer.consume({ max_messages: BATCH * 2 })
        reader.messages = messages
        if (reader.stopped) messages.stop()
        let batch: JsMsg[] = []
        for await (const m of messages) {
          if (m.seq <= last) continue
          batch.push(m)
          if (batch.length >= BATCH || messages.getPending() === 0) {
            const records: LogRecordIn[] = batch.map((x) => ({
              position: x.seq,
              key: x.headers?.get(KEY_HEADER) ?? '',
              value: x.data,
            }))
            batch = []
            if (reader.stopped) break
            await this.handler!.records(partition, records)
            last = records[records.length - 1].position
          }
        }
      } catch (err) {
        if (reader.stopped || this.closed) return
        this.log.o.logger?.warn({ err, partition }, 'reading a log partition failed; retrying')
        await new Promise((r) => setTimeout(r, 1000))
      }
    }
  }

  private async stopReading(partitions: string[]): Promise<void> {
    for (const p of partitions) {
      const r = this.readers.get(p)
      if (!r) continue
      r.stopped = true
      r.messages?.stop()
    }
    for (const p of partitions) {
      await this.readers.get(p)?.done
      this.readers.delete(p)
    }
  }

  /** The tables hold these positions: their messages are purged from the stream. */
  async commit(positions: Positions): Promise<void> {
    for (const [partition, position] of Object.entries(positions)) {
      if (!this.readers.has(partition) || position <= (this.purged.get(partition) ?? 0)) continue
      await this.log.jsm.streams.purge(this.log.o.stream, {
        filter: this.log.subjectOf(partition),
        seq: position + 1,
      })
      this.purged.set(partition, position)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    await this.ticking
    const all = [...this.held]
    await this.stopReading(all)
    if (all.length > 0) await this.handler?.revoked(all)
    try {
      await this.leases.release(all)
      await this.leases.leave()
    } catch (err) {
      this.log.o.logger?.warn({ err }, 'releasing log partition leases failed; they run out by themselves')
    }
  }
}
