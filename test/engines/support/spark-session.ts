/**
 * Spark SQL in a child JVM (test/engines/spark/SqlDriver.java, `local[2]`), one statement at a
 * time over stdin/stdout. The classpath comes from test/engines/spark/pom.xml through Maven
 * (`dependency:build-classpath`: jars in ~/.m2), remembered in the engines cache folder per pom
 * content, so a warm run does not start Maven at all.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { enginesCacheDir } from './trino-install.ts'

const PROJECT = path.resolve('test/engines/spark')

/** The Spark/Iceberg classpath (resolving it with Maven on first use). */
export function sparkClasspath(): string {
  const pom = readFileSync(path.join(PROJECT, 'pom.xml'))
  const key = createHash('sha256').update(pom).digest('hex').slice(0, 16)
  const file = path.join(enginesCacheDir(), `spark-classpath-${key}.txt`)
  if (!existsSync(file)) {
    mkdirSync(enginesCacheDir(), { recursive: true })
    execFileSync(
      'mvn',
      [
        '-B',
        '-q',
        'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath',
        `-Dmdep.outputFile=${file}`,
      ],
      { cwd: PROJECT, stdio: ['ignore', 'inherit', 'inherit'], timeout: 20 * 60_000 },
    )
  }
  return readFileSync(file, 'utf8').trim()
}

/** What spark-submit adds on Java 17 (Spark's JavaModuleOptions): Spark reflects into these. */
const OPENS = [
  'java.base/java.lang',
  'java.base/java.lang.invoke',
  'java.base/java.lang.reflect',
  'java.base/java.io',
  'java.base/java.net',
  'java.base/java.nio',
  'java.base/java.util',
  'java.base/java.util.concurrent',
  'java.base/java.util.concurrent.atomic',
  'java.base/jdk.internal.ref',
  'java.base/sun.nio.ch',
  'java.base/sun.nio.cs',
  'java.base/sun.security.action',
  'java.base/sun.util.calendar',
].map((p) => `--add-opens=${p}=ALL-UNNAMED`)

export interface SparkSql {
  /** Runs one statement; rows as Spark's JSON (maps as objects, timestamps as UTC strings). */
  sql(statement: string): Promise<Record<string, unknown>[]>
  version: string
  logFile: string
  stop(): Promise<void>
}

export async function startSpark(conf: Record<string, string>): Promise<SparkSql> {
  const cp = sparkClasspath()
  const javaHome = process.env.FLOE_SPARK_JAVA_HOME ?? process.env.JAVA_HOME
  const java = javaHome ? path.join(javaHome, 'bin', 'java') : 'java'
  const settings = {
    'spark.ui.enabled': 'false',
    'spark.driver.host': '127.0.0.1',
    'spark.driver.bindAddress': '127.0.0.1',
    'spark.sql.shuffle.partitions': '2',
    'spark.sql.session.timeZone': 'UTC',
    'spark.sql.jsonGenerator.ignoreNullFields': 'false',
    ...conf,
  }
  const child: ChildProcess = spawn(
    java,
    [
      '-Xmx1g',
      '-XX:+IgnoreUnrecognizedVMOptions',
      ...OPENS,
      '-Djdk.reflect.useDirectMethodHandle=false',
      '-Dio.netty.tryReflectionSetAccessible=true',
      '-cp',
      cp,
      path.join(PROJECT, 'SqlDriver.java'),
      ...Object.entries(settings).map(([k, v]) => `${k}=${v}`),
    ],
    { detached: true, stdio: ['pipe', 'pipe', 'pipe'] },
  )
  const logFile = path.join(tmpdir(), `floe-spark-${child.pid}.log`)
  const log = createWriteStream(logFile)
  child.stderr!.pipe(log)
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      /* already gone */
    }
  }
  process.once('exit', killGroup)
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))

  // Answers arrive in order, one line each; callers are served in the order they asked.
  const waiting: { resolve: (line: string) => void; reject: (e: Error) => void }[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => waiting.shift()?.resolve(line))
  void exited.then(() => {
    for (const w of waiting.splice(0)) w.reject(new Error(`spark exited (log: ${logFile})`))
  })
  const next = () => new Promise<string>((resolve, reject) => waiting.push({ resolve, reject }))

  const ready = await Promise.race([
    next(),
    new Promise<string>((_, reject) =>
      setTimeout(() => reject(new Error(`spark did not start in 5 minutes (log: ${logFile})`)), 5 * 60_000),
    ),
  ])
  if (!ready.startsWith('READY ')) throw new Error(`spark: unexpected first line ${ready} (log: ${logFile})`)

  let chain: Promise<unknown> = Promise.resolve()
  return {
    version: ready.slice('READY '.length),
    logFile,
    sql(statement: string) {
      const run = async () => {
        const answer = next()
        child.stdin!.write(Buffer.from(statement, 'utf8').toString('base64') + '\n')
        const line = await answer
        if (line.startsWith('OK ')) return JSON.parse(line.slice(3)) as Record<string, unknown>[]
        throw new Error(`spark: ${line.slice(4)}\n  in: ${statement}\n  (log: ${logFile})`)
      }
      const p = chain.then(run, run)
      chain = p.catch(() => undefined)
      return p
    },
    async stop() {
      child.stdin!.end()
      const timer = setTimeout(killGroup, 20_000)
      await exited
      clearTimeout(timer)
      killGroup()
      process.removeListener('exit', killGroup)
    },
  }
}
