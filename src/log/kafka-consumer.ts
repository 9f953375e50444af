/**
 * The Kafka transport's consumer (transport.ts `LogConsumer`): writers form one consumer group on
 * the topic; the group's assignment says which writer owns which partitions.
 *
 * - **Membership** is @platformatic/kafka's classic group protocol with the cooperative-sticky
 *   assignor: a partition that moves is first taken from its owner (one rebalance round), and only
 *   given to the new owner in the next round, after the old one rejoined without it. The client
 *   emits `consumer:group:rebalance` / `consumer:group:join` with the new assignment; both run
 *   `#reconcile`, which maps the difference to the handler's `revoked` and `assigned`.
 * - **Fetching** is our own loop over the client's `fetch` (not its MessagesStream), because the
 *   start position of a partition is what the tables say (`assigned`'s answer + 1), not the group's
 *   committed offset nor "latest", and because a record must never reach the handler for a
 *   partition this writer no longer owns: the loop delivers one partition's batch at a time, in
 *   offset order, and checks ownership right before each delivery.
 * - **Positions are offsets + 1**: they start at 1 like JetStream's stream sequences (the writer
 *   treats 0 as "nothing held"), and a partition's position in the tables is then exactly Kafka's
 *   committed-offset convention: the next offset to read. `assigned`'s answer p resumes at offset p.
 * - **Offsets are committed to Kafka** (`commit`) only after the table commit, for monitoring (lag)
 *   and tooling; they are never read back.
 *
 * What Kafka guarantees and what it does not: the group never assigns one partition to two members
 * of the same generation, but a member that stopped heartbeating (a long GC pause, a network split)
 * may still fetch until it learns it was evicted. This consumer stops delivering once its last
 * successful heartbeat is older than the session timeout, but the final guard is the writer's: it
 * commits a partition's rows only on top of the position the table holds for it.
 */
import { Consumer } from '@platformatic/kafka'
import { describeKafkaError, ensureKafkaTopic, hasErrorCode, type KafkaLogOptions } from './kafka.ts'
import type { ConsumerHandler, LogConsumer, LogRecordIn, Positions } from './transport.ts'

export interface KafkaConsumerOptions extends KafkaLogOptions {
  /** The writers' consumer group (FLOE_KAFKA_GROUP). */
  group: string
  /** Without a heartbeat for this long a writer is out of the group and its partitions move. */
  sessionTimeoutMs?: number
  heartbeatIntervalMs?: number
  /** A fetch waits at most this long for new records (Kafka's fetch.max.wait.ms). */
  maxWaitMs?: number
  /** Bytes per partition per fetch (Kafka's max.partition.fetch.bytes). */
  maxBytesPerPartition?: number
}

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>

const OFFSET_OUT_OF_RANGE = 1
const IS_CONTROL = 0b100000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

class KafkaLogConsumer implements LogConsumer {
  readonly #o: KafkaConsumerOptions
  readonly #log: KafkaLogOptions['logger']
  readonly #consumer: Consumer
  readonly #sessionTimeoutMs: number
  #handler: ConsumerHandler | undefined
  /** Partitions this writer owns and has told the handler about → next offset to fetch. */
  readonly #owned = new Map<number, bigint>()
  /** Reconciliations run one after the other (the handler's calls never overlap). */
  #reconciling: Promise<void> = Promise.resolve()
  #loop: Promise<void> | undefined
  #closed = false
  #joinedAt = 0
  #rejoining = false

  constructor(o: KafkaConsumerOptions) {
    this.#o = o
    this.#log = o.logger
    this.#sessionTimeoutMs = o.sessionTimeoutMs ?? 10_000
    const heartbeatInterval = o.heartbeatIntervalMs ?? Math.max(100, Math.floor(this.#sessionTimeoutMs / 5))
    this.#consumer = new Consumer({
      clientId: `${o.clientId ?? 'floe'}-writer`,
      groupId: o.group,
      bootstrapBrokers: o.brokers,
      sessionTimeout: this.#sessionTimeoutMs,
      rebalanceTimeout: Math.max(this.#sessionTimeoutMs, 30_000),
      heartbeatInterval,
      protocols: [{ name: 'cooperative-sticky', version: 1 }],
      maxWaitTime: o.maxWaitMs ?? 500,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 8 * 1024 * 1024,
      timeout: Math.max(o.publishTimeoutMs, (o.maxWaitMs ?? 500) + 5000),
      retries: 2,
      retryDelay: 500,
    })
    const reconcile = () => this.#schedule()
    this.#consumer.on('consumer:group:join', () => {
      this.#joinedAt = Date.now()
      reconcile()
    })
    this.#consumer.on('consumer:group:rebalance', reconcile)
    this.#consumer.on('consumer:group:leave', reconcile)
    // A rejoin that failed (broker down longer than the client's retries) leaves the client without
    // heartbeats: give up the partitions and join again once the broker answers.
    this.#consumer.on('error', (err: unknown) => {
      this.#log?.warn({ err: describeKafkaError(err) }, 'kafka consumer group error; rejoining')
      void this.#rejoin()
    })
  }

  async start(handler: ConsumerHandler): Promise<void> {
    this.#handler = handler
    await ensureKafkaTopic(this.#o)
    // The subscription: the client's join announces the topics it tracks (its consume() does this).
    this.#consumer.topics.track(this.#o.topic)
    await this.#consumer.joinGroup({})
    this.#joinedAt = Date.now()
    this.#schedule()
    await this.#reconciling
    this.#loop = this.#run()
  }

  /** Still a member as far as this process can tell: a heartbeat (or the join) within the session timeout. */
  #live(): boolean {
    const last = Math.max(this.#consumer.lastHeartbeat?.getTime() ?? 0, this.#joinedAt)
    return !this.#rejoining && Date.now() - last < this.#sessionTimeoutMs
  }

  /** A partition's name in the contract: `<topic>/<partition>` (position keys stay apart per topic). */
  #name(p: number): string {
    return `${this.#o.topic}/${p}`
  }

  /** The partition number of a contract name, if it names a partition of our topic. */
  #number(name: string): number | undefined {
    const prefix = `${this.#o.topic}/`
    if (!name.startsWith(prefix)) return undefined
    const n = Number(name.slice(prefix.length))
    return Number.isInteger(n) && n >= 0 ? n : undefined
  }

  /** The partitions of our topic in the client's current assignment. */
  #assignment(): Set<number> {
    const mine = this.#consumer.assignments?.find((a) => a.topic === this.#o.topic)
    return new Set(mine?.partitions ?? [])
  }

  #schedule(): void {
    this.#reconciling = this.#reconciling
      .then(() => this.#reconcile())
      .catch((err: unknown) => {
        this.#log?.error({ err }, 'kafka consumer: partition hand-over failed; rejoining')
        void this.#rejoin()
      })
  }

  async #reconcile(): Promise<void> {
    const handler = this.#handler
    if (!handler) return
    const now = this.#closed ? new Set<number>() : this.#assignment()
    const revoked = [...this.#owned.keys()].filter((p) => !now.has(p))
    for (const p of revoked) this.#owned.delete(p)
    if (revoked.length > 0) {
      this.#log?.info({ partitions: revoked }, 'kafka partitions revoked')
      await handler.revoked(revoked.map((p) => this.#name(p)))
    }
    const added = [...now].filter((p) => !this.#owned.has(p)).sort((a, b) => a - b)
    if (added.length === 0) return
    const positions: Positions = await handler.assigned(added.map((p) => this.#name(p)))
    // The assignment may have moved on while the tables were read: keep only what is still ours
    // (a partition gone meanwhile is handed back by the reconciliation that its event queued).
    const still = this.#assignment()
    for (const p of added) {
      if (!still.has(p) || this.#closed) continue
      const at = positions[this.#name(p)]
      this.#owned.set(p, at === undefined ? 0n : BigInt(at))
    }
    this.#log?.info({ partitions: added, positions }, 'kafka partitions assigned')
  }

  async #rejoin(): Promise<void> {
    if (this.#rejoining || this.#closed) return
    this.#rejoining = true
    try {
      // Nothing is delivered until the group has us again (#live is false meanwhile).
      this.#consumer.assignments = []
      this.#schedule()
      for (let delay = 500; !this.#closed; delay = Math.min(delay * 2, 5000)) {
        try {
          await this.#leave()
          await this.#consumer.joinGroup({})
          this.#joinedAt = Date.now()
          break
        } catch (err) {
          this.#log?.warn({ err: describeKafkaError(err) }, 'kafka consumer: join failed, retrying')
          await sleep(delay)
        }
      }
    } finally {
      this.#rejoining = false
      this.#schedule()
    }
  }

  async #run(): Promise<void> {
    let backoff = 0
    while (!this.#closed) {
      try {
        await this.#reconciling
        // Nothing to fetch (no partitions, or membership in doubt): wait, never spin on resolved promises.
        if (this.#owned.size === 0 || !this.#live()) await sleep(100)
        // An empty fetch already waited up to maxWaitMs at the broker; a batch held back (revoked
        // meanwhile) is fetched again after a short pause rather than in a tight loop.
        else if (!(await this.#fetchOnce())) await sleep(20)
        backoff = 0
      } catch (err) {
        if (this.#closed) break
        backoff = Math.min(backoff === 0 ? 250 : backoff * 2, 5000)
        this.#log?.warn({ err: describeKafkaError(err), retryInMs: backoff }, 'kafka fetch failed')
        await sleep(backoff)
      }
    }
  }

  /** One fetch per leader for the owned partitions; delivers what came back. True if records were delivered. */
  async #fetchOnce(): Promise<boolean> {
    const topic = this.#o.topic
    const metadata = await this.#consumer.metadata({ topics: [topic] })
    const topicMeta = metadata.topics.get(topic)
    if (!topicMeta) throw new Error(`topic ${topic} not in the metadata`)
    const byLeader = new Map<number, { partition: number; offset: bigint }[]>()
    for (const [partition, offset] of this.#owned) {
      const leader = topicMeta.partitions[partition]?.leader ?? -1
      if (leader < 0) continue
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), { partition, offset }])
    }
    const results = await Promise.all(
      [...byLeader].map(async ([node, parts]) => {
        const requested = new Map(parts.map((p) => [p.partition, p.offset]))
        try {
          const response = await this.#consumer.fetch({
            node,
            topics: [
              {
                topicId: topicMeta.id,
                partitions: parts.map((p) => ({
                  partition: p.partition,
                  fetchOffset: p.offset,
                  partitionMaxBytes: this.#o.maxBytesPerPartition ?? 8 * 1024 * 1024,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                })),
              },
            ],
          })
          return { response, requested }
        } catch (err) {
          const response = (err as { response?: FetchResponse }).response
          if (response && hasErrorCode(err, OFFSET_OUT_OF_RANGE)) this.#resetOutOfRange(response, requested)
          else throw err
          return undefined
        }
      }),
    )
    let delivered = false
    for (const r of results) {
      if (!r) continue
      for (const t of r.response.responses) {
        for (const p of t.partitions) {
          const from = r.requested.get(p.partitionIndex)
          if (from === undefined || !p.records) continue
          delivered = (await this.#deliver(p.partitionIndex, from, p.records)) || delivered
        }
      }
    }
    return delivered
  }

  /** Hands one partition's fetched batches to the handler, if the partition is still ours at `from`. */
  async #deliver(
    partition: number,
    from: bigint,
    batches: NonNullable<FetchResponse['responses'][number]['partitions'][number]['records']>,
  ): Promise<boolean> {
    const records: LogRecordIn[] = []
    let next = from
    for (const batch of batches) {
      const last = batch.firstOffset + BigInt(batch.lastOffsetDelta)
      if (last < next) continue
      if (!(batch.attributes & IS_CONTROL)) {
        for (const rec of batch.records) {
          const offset = batch.firstOffset + BigInt(rec.offsetDelta)
          if (offset < next) continue
          records.push({
            position: Number(offset) + 1,
            key: rec.key ? rec.key.toString('utf8') : '',
            value: rec.value ?? new Uint8Array(0),
          })
        }
      }
      next = last + 1n
    }
    // Ownership is checked at the last moment: a revoke (or a lost membership) since the fetch
    // began drops the batch, and a seek since then means these records are not the ones asked for.
    if (next === from || this.#owned.get(partition) !== from) return false
    if (!this.#assignment().has(partition) || !this.#live()) return false
    if (records.length > 0) await this.#handler!.records(this.#name(partition), records)
    if (this.#owned.get(partition) === from) this.#owned.set(partition, next)
    return records.length > 0
  }

  #resetOutOfRange(response: FetchResponse, requested: Map<number, bigint>): void {
    for (const t of response.responses) {
      for (const p of t.partitions) {
        if (p.errorCode !== OFFSET_OUT_OF_RANGE) continue
        const from = requested.get(p.partitionIndex)
        if (from === undefined || this.#owned.get(p.partitionIndex) !== from) continue
        // Below the log start: retention removed records the tables already hold (or, for a
        // partition the tables never saw, records that are gone: say so). Above the end: the topic
        // is not the one the tables were written from (deleted and recreated); resume at its end.
        const to = from < p.logStartOffset ? p.logStartOffset : p.highWatermark
        const lost = from < p.logStartOffset && from === 0n
        this.#log?.[lost ? 'error' : 'warn'](
          { partition: p.partitionIndex, from: String(from), to: String(to) },
          lost
            ? 'kafka partition starts past offset 0: records never written to the tables were removed by retention'
            : 'kafka offset out of range; resuming at the nearest offset the partition holds',
        )
        this.#owned.set(p.partitionIndex, to)
      }
    }
  }

  async commit(positions: Positions): Promise<void> {
    const offsets = []
    for (const [name, at] of Object.entries(positions)) {
      const partition = this.#number(name)
      if (partition === undefined || !this.#owned.has(partition)) continue
      offsets.push({ topic: this.#o.topic, partition, offset: BigInt(at), leaderEpoch: -1 })
    }
    if (offsets.length === 0) return
    try {
      await this.#consumer.commit({ offsets })
    } catch (err) {
      // Monitoring only (the tables are the truth): a failed commit costs lag figures, not data.
      this.#log?.warn({ err: describeKafkaError(err) }, 'kafka offset commit failed')
    }
  }

  /** Leaves the group (errors ignored: the broker drops a silent member after the session timeout). */
  #leave(): Promise<void> {
    return new Promise((resolve) => this.#consumer.leaveGroup(true, () => resolve()))
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#loop?.catch(() => {})
    this.#schedule()
    await this.#reconciling
    await this.#leave()
    await this.#consumer.close(true)
  }
}

export function kafkaConsumer(o: KafkaConsumerOptions): LogConsumer {
  return new KafkaLogConsumer(o)
}
