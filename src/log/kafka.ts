/**
 * The Kafka transport of the replicated log (transport.ts): one topic, partitions = Kafka partitions,
 * positions = partition offsets + 1 (kafka-consumer.ts). Works with any broker speaking the Kafka protocol (Apache Kafka,
 * Redpanda, MSK, Confluent), through @platformatic/kafka (pure JavaScript; docs/decisions.md).
 *
 * - **Producer:** idempotent (the broker drops a batch the client resent after a lost ack), acks=all
 *   (in-sync replicas have it before the ack), key = site id, partition = Java's murmur2 of the key
 *   (`compatibilityPartitioner`: the partition Kafka's Java producer would pick, so other producers of
 *   the same topic agree), zstd-compressed batches. `publish` resolves once every record is
 *   acknowledged; any failure, a publish slower than `publishTimeoutMs`, or more than `maxInFlight`
 *   records awaited at once is a `LogUnavailableError` (503 + Retry-After).
 * - **Consumer:** kafka-consumer.ts.
 */
import { Admin, compatibilityPartitioner, ProduceAcks, Producer } from '@platformatic/kafka'
import type { Logger } from 'pino'
import { LogUnavailableError } from '../errors.ts'
import type { LogProducer, LogRecordOut } from './transport.ts'

export interface KafkaLogOptions {
  /** Bootstrap brokers, `host:port` (FLOE_KAFKA_BROKERS). */
  brokers: string[]
  /** The topic (FLOE_KAFKA_TOPIC); created on first use when missing. */
  topic: string
  /** Partitions when Floe creates the topic (FLOE_LOG_PARTITIONS); an existing topic keeps its own. */
  partitions: number
  /** Replication factor when Floe creates the topic; -1 (default): the broker's default.replication.factor. */
  replicas?: number
  /** A publish not acknowledged within this is refused (FLOE_LOG_PUBLISH_TIMEOUT_MS). */
  publishTimeoutMs: number
  /** Seconds a refused client is told to wait (Retry-After). */
  retryAfterSeconds?: number
  /** Records one producer awaits at once (FLOE_LOG_MAX_IN_FLIGHT); past it, LogUnavailableError at once. */
  maxInFlight?: number
  clientId?: string
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>
}

const TOPIC_ALREADY_EXISTS = 36

/** Creates the topic unless it exists (several processes may race here: all but one see error 36). */
export async function ensureKafkaTopic(o: KafkaLogOptions): Promise<void> {
  const admin = new Admin({
    clientId: `${o.clientId ?? 'floe'}-admin`,
    bootstrapBrokers: o.brokers,
    timeout: o.publishTimeoutMs,
    retries: 1,
  })
  try {
    const md = await admin.metadata({ topics: [] })
    const existing = await admin.listTopics()
    if (existing.includes(o.topic)) return
    const replicas = o.replicas ?? -1
    try {
      await admin.createTopics({ topics: [o.topic], partitions: o.partitions, replicas })
    } catch (err) {
      if (!hasErrorCode(err, TOPIC_ALREADY_EXISTS)) throw err
    }
    o.logger?.info(
      { topic: o.topic, partitions: o.partitions, replicas, brokers: md.brokers.size },
      'kafka topic created',
    )
  } finally {
    await admin.close().catch(() => {})
  }
}

/** True when a (possibly nested) protocol error of the client carries this Kafka error code. */
export function hasErrorCode(err: unknown, code: number): boolean {
  const seen = new Set<unknown>()
  const walk = (e: unknown): boolean => {
    if (!e || typeof e !== 'object' || seen.has(e)) return false
    seen.add(e)
    const x = e as { errorCode?: number; errors?: unknown[]; cause?: unknown; response?: unknown }
    if (x.errorCode === code) return true
    if (Array.isArray(x.errors) && x.errors.some(walk)) return true
    return walk(x.cause)
  }
  return walk(err)
}

/** The client's error, shortened to one line (its messages nest: "Producing messages failed. ..."). */
export function describeKafkaError(err: unknown): string {
  const e = err as { message?: string; errors?: { message?: string }[] }
  const inner = Array.isArray(e?.errors) ? e.errors.map((x) => x?.message).filter(Boolean) : []
  return [e?.message ?? String(err), ...new Set(inner)].join(': ').slice(0, 500)
}

class KafkaLogProducer implements LogProducer {
  readonly #o: KafkaLogOptions
  readonly #producer: Producer
  #topicReady: Promise<void> | undefined
  #inFlight = 0

  constructor(o: KafkaLogOptions) {
    this.#o = o
    this.#producer = new Producer({
      clientId: `${o.clientId ?? 'floe'}-producer`,
      bootstrapBrokers: o.brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      partitioner: compatibilityPartitioner,
      // Records are JSON rows: zstd (Node's zlib, no native add-on) shrinks them several times, for
      // the brokers' disks and network and for message.max.bytes, which applies to the compressed batch.
      compression: 'zstd',
      autocreateTopics: false,
      // The client's own retries stay inside the publish deadline (connection refused fails fast).
      timeout: o.publishTimeoutMs,
      retries: 2,
      retryDelay: 200,
    })
  }

  async publish(records: LogRecordOut[]): Promise<void> {
    if (records.length === 0) return
    const max = this.#o.maxInFlight ?? Infinity
    if (this.#inFlight > 0 && this.#inFlight + records.length > max)
      throw new LogUnavailableError(`too many publishes in flight (FLOE_LOG_MAX_IN_FLIGHT=${max})`, 1)
    this.#inFlight += records.length
    try {
      await this.#withDeadline(async () => {
        this.#topicReady ??= ensureKafkaTopic(this.#o).catch((err: unknown) => {
          this.#topicReady = undefined
          throw err
        })
        await this.#topicReady
        await this.#producer.send({
          messages: records.map((r) => ({
            topic: this.#o.topic,
            key: Buffer.from(r.key),
            value: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength),
          })),
        })
      })
    } catch (err) {
      if (err instanceof LogUnavailableError) throw err
      throw new LogUnavailableError(
        `kafka did not acknowledge the events (${describeKafkaError(err)})`,
        this.#o.retryAfterSeconds ?? 5,
        err,
      )
    } finally {
      this.#inFlight -= records.length
    }
  }

  async #withDeadline(work: () => Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LogUnavailableError(
              `kafka did not acknowledge the events within ${this.#o.publishTimeoutMs} ms`,
              this.#o.retryAfterSeconds ?? 5,
            ),
          ),
        this.#o.publishTimeoutMs,
      )
    })
    try {
      await Promise.race([work(), deadline])
    } finally {
      clearTimeout(timer)
    }
  }

  async close(): Promise<void> {
    await this.#producer.close(true)
  }
}

export function kafkaProducer(o: KafkaLogOptions): LogProducer {
  return new KafkaLogProducer(o)
}
