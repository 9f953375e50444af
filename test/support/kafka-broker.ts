/**
 * A real Apache Kafka broker for tests: Apache Kafka's own jars from Maven Central
 * (`test/log/kafka-broker/pom.xml`, resolved once into ~/.m2), run as one local JVM in KRaft mode,
 * broker and controller combined, on free loopback ports, with its log dirs in a temp folder.
 *
 * Start-up is the two steps of Kafka's quickstart: `kafka.tools.StorageTool format` (writes the
 * cluster id and the bootstrap metadata into the log dir), then `kafka.Kafka server.properties`.
 * `stop()` ends the JVM (SIGTERM, SIGKILL after a grace period) and `start()` runs it again on the
 * same ports and log dir, so outage tests see the same topic and offsets come back.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { Admin } from '@platformatic/kafka'
import { freePort } from './s3.ts'

const execFileP = promisify(execFile)

export const KAFKA_BROKER_POM_DIR = path.resolve(import.meta.dirname, '../log/kafka-broker')

/** JVM flags: a small heap and a quick start (C1 only); the broker here carries test traffic only. */
const JVM_FLAGS = ['-Xms64m', '-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto']

let classpath: Promise<string> | undefined

/**
 * The broker's runtime classpath. `mvn generate-resources` resolves the jars (downloading them the
 * first time) and writes target/classpath.txt; a warm ~/.m2 makes this a few seconds of Maven, and a
 * classpath file newer than the pom skips Maven altogether.
 */
export function kafkaClasspath(): Promise<string> {
  classpath ??= (async () => {
    const file = path.join(KAFKA_BROKER_POM_DIR, 'target', 'classpath.txt')
    const pom = path.join(KAFKA_BROKER_POM_DIR, 'pom.xml')
    const fresh = existsSync(file) && statSync(file).mtimeMs >= statSync(pom).mtimeMs
    if (!fresh) {
      try {
        await execFileP('mvn', ['-q', '-B', 'generate-resources'], {
          cwd: KAFKA_BROKER_POM_DIR,
          timeout: 15 * 60_000,
        })
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string }
        throw new Error(
          `mvn generate-resources for the Kafka broker failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
        )
      }
    }
    return readFileSync(file, 'utf8').trim()
  })()
  return classpath
}

export interface KafkaBroker {
  /** `127.0.0.1:<port>`, the bootstrap address clients use. */
  bootstrap: string
  port: number
  dir: string
  /** Ends the JVM (SIGTERM, then SIGKILL after 10 s); the log dir stays. */
  stop(): Promise<void>
  /** Runs the broker again on the same ports and log dir (after stop()). */
  start(): Promise<void>
  /** stop() and remove the temp folder. */
  destroy(): Promise<void>
  /** The broker's own log (the last `chars` characters), for failure messages. */
  logTail(chars?: number): string
}

export interface KafkaBrokerOptions {
  /** Partitions of a topic created without a count (`num.partitions`). */
  partitions?: number
  /** Extra server.properties lines. */
  properties?: Record<string, string | number>
}

function serverProperties(dir: string, port: number, controllerPort: number, o: KafkaBrokerOptions): string {
  const props: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': path.join(dir, 'data'),
    'num.partitions': o.partitions ?? 4,
    // One broker: every internal topic with one replica, and few partitions so they are created fast.
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // Tests join and leave groups often: no initial delay, and short session timeouts allowed.
    'group.initial.rebalance.delay.ms': 0,
    'group.min.session.timeout.ms': 1000,
    // Topics are created by the code under test, with the partition count it asks for.
    'auto.create.topics.enable': 'false',
    ...o.properties,
  }
  return Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')
    .concat('\n')
}

/** log4j2 (Kafka 4 logs through it): WARN and above into the temp folder, not the test output. */
function log4jConfig(dir: string): string {
  return [
    'status = warn',
    'appender.file.type = File',
    'appender.file.name = file',
    `appender.file.fileName = ${path.join(dir, 'broker.log')}`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = warn',
    'rootLogger.appenderRef.file.ref = file',
    '',
  ].join('\n')
}

/** Resolves once the broker answers a metadata request for itself (KRaft quorum up, broker unfenced). */
async function waitReady(bootstrap: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 90_000
  let exited: number | null = null
  child.once('exit', (code) => (exited = code ?? -1))
  let lastError: unknown
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`Kafka broker exited with ${exited} while starting:\n${log()}`)
    const admin = new Admin({
      clientId: 'floe-test-ready',
      bootstrapBrokers: [bootstrap],
      retries: 0,
      timeout: 2000,
    })
    try {
      const md = await admin.metadata({ topics: [] })
      if (md.brokers.size > 0) return
    } catch (err) {
      lastError = err
    } finally {
      await admin.close().catch(() => {})
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`Kafka broker not ready within 90 s (${String(lastError)}):\n${log()}`)
}

export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const cp = await kafkaClasspath()
  const dir = mkdtempSync(path.join(tmpdir(), 'floe-kafka-'))
  mkdirSync(path.join(dir, 'data'))
  const port = await freePort()
  const controllerPort = await freePort()
  const bootstrap = `127.0.0.1:${port}`
  const props = path.join(dir, 'server.properties')
  writeFileSync(props, serverProperties(dir, port, controllerPort, options))
  writeFileSync(path.join(dir, 'log4j2.properties'), log4jConfig(dir))
  const jvm = [...JVM_FLAGS, `-Dlog4j2.configurationFile=${path.join(dir, 'log4j2.properties')}`, '-cp', cp]

  // A fixed cluster id is fine: every broker here is its own one-node cluster in its own folder.
  await execFileP(
    'java',
    [...jvm, 'kafka.tools.StorageTool', 'format', '-t', 'ZmxvZS10ZXN0LWNsdXN0ZXI', '-c', props],
    {
      timeout: 60_000,
    },
  )

  const logTail = (chars = 4000): string => {
    const file = path.join(dir, 'broker.log')
    const out = path.join(dir, 'stdout.log')
    const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '')
    return (read(out) + read(file)).slice(-chars)
  }

  let child: ChildProcess | undefined
  const start = async () => {
    const out = openSync(path.join(dir, 'stdout.log'), 'a')
    child = spawn('java', [...jvm, 'kafka.Kafka', props], { stdio: ['ignore', out, out] })
    await waitReady(bootstrap, child, logTail)
  }
  const stop = async () => {
    const c = child
    child = undefined
    if (!c || c.exitCode !== null || c.signalCode !== null) return
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()))
    c.kill('SIGTERM')
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
  await start()
  return {
    bootstrap,
    port,
    dir,
    stop,
    start,
    logTail,
    destroy: async () => {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
