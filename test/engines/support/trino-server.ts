/**
 * A single-node Trino (coordinator + worker in one JVM) on a free loopback port, with the given
 * catalogs, started straight from the unpacked server's jars (no launcher script: its binary
 * expects a PID folder layout we do not need). The JVM runs in its own process group and is
 * killed with it by stop(), and by this process's exit if a test forgets.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdirSync, symlinkSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { freePort } from '../../support/s3.ts'
import { TrinoClient } from './trino-http.ts'
import { ensureTrino, trinoJavaHome } from './trino-install.ts'

export interface TrinoServer {
  client: TrinoClient
  /** Everything the JVM printed (for failure messages). */
  log(): string
  stop(): Promise<void>
}

const props = (o: Record<string, string>) =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n') + '\n'

/** Trino's documented JVM settings, with a heap small enough for a shared 2-core CI machine. */
const JVM_FLAGS = [
  '-Xmx1536m',
  '-XX:+UseG1GC',
  '-XX:G1HeapRegionSize=32M',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:+ExitOnOutOfMemoryError',
  '-XX:-OmitStackTraceInFastThrow',
  '-XX:ReservedCodeCacheSize=256M',
  '-XX:PerMethodRecompilationCutoff=10000',
  '-XX:PerBytecodeRecompilationCutoff=10000',
  '-XX:+EnableDynamicAgentLoading',
  '-Djdk.attach.allowAttachSelf=true',
  '-Djdk.nio.maxCachedBufferSize=2000000',
  '-Dfile.encoding=UTF-8',
  // s3rver (the test S3 server) does not understand the AWS SDK's default flexible checksums.
  '-Daws.requestChecksumCalculation=when_required',
  '-Daws.responseChecksumValidation=when_required',
]

/** Nodes the coordinator sees as active (the coordinator itself counts: it schedules work on itself). */
async function activeNodes(client: TrinoClient): Promise<number> {
  const { rows } = await client.query("SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'")
  return Number(rows[0][0])
}

export async function startTrino(catalogs: Record<string, Record<string, string>>): Promise<TrinoServer> {
  const home = ensureTrino()
  const javaHome = trinoJavaHome()
  const work = mkdtempSync(path.join(tmpdir(), 'floe-trino-'))
  const etc = path.join(work, 'etc')
  mkdirSync(path.join(etc, 'catalog'), { recursive: true })
  const port = await freePort()
  const pluginDir = path.join(work, 'plugin')
  mkdirSync(pluginDir)
  symlinkSync(path.join(home, 'plugin', 'iceberg'), path.join(pluginDir, 'iceberg'))
  writeFileSync(
    path.join(etc, 'config.properties'),
    props({
      coordinator: 'true',
      'node-scheduler.include-coordinator': 'true',
      'http-server.http.port': String(port),
      'discovery.uri': `http://127.0.0.1:${port}`,
      'query.max-memory': '512MB',
      'query.max-memory-per-node': '512MB',
      'catalog.config-dir': path.join(etc, 'catalog'),
      // Only the Iceberg connector: the server's other bundled plugins are not needed here.
      'plugin.dir': pluginDir,
      // What the launcher would pass from node.properties (read from here when started directly).
      'node.environment': 'floe_test',
      'node.id': `floe-test-${port}`,
      // Else Trino announces the machine's first interface address, which may not route here.
      'node.internal-address': '127.0.0.1',
      // One node with two cores: fewer threads than Trino's server defaults.
      'task.concurrency': '2',
      'task.max-worker-threads': '4',
    }),
  )
  writeFileSync(path.join(etc, 'log.properties'), props({ 'io.trino': 'WARN', 'io.airlift': 'WARN' }))
  for (const [name, p] of Object.entries(catalogs))
    writeFileSync(path.join(etc, 'catalog', `${name}.properties`), props(p))

  const child: ChildProcess = spawn(
    path.join(javaHome, 'bin', 'java'),
    [
      ...JVM_FLAGS,
      `-Dconfig=${path.join(etc, 'config.properties')}`,
      `-Dlog.levels-file=${path.join(etc, 'log.properties')}`,
      '-cp',
      path.join(home, 'lib', '*'),
      'io.trino.server.TrinoServer',
    ],
    { cwd: work, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  // The whole log also goes to a file that outlives the run (its path is in failure messages).
  const logFile = path.join(tmpdir(), `floe-trino-${port}.log`)
  const logStream = createWriteStream(logFile)
  let log = ''
  const keep = (d: Buffer) => {
    logStream.write(d)
    log += d.toString()
    if (log.length > 200_000) log = log.slice(-100_000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      /* already gone */
    }
  }
  process.once('exit', killGroup)

  const client = new TrinoClient(`http://127.0.0.1:${port}`)
  const stop = async () => {
    killGroup()
    await exited
    process.removeListener('exit', killGroup)
    rmSync(work, { recursive: true, force: true })
  }
  // Started = the coordinator says so and lists an active worker (itself) to run queries on:
  // /v1/info stops saying `starting` before the node manager has seen any node, and a query then
  // fails with NO_NODES_AVAILABLE. (/v1/node lists only *other* nodes, so system.runtime.nodes.)
  const until = Date.now() + 5 * 60_000
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`trino exited with ${child.exitCode} (log: ${logFile}):\n${log.slice(-3000)}`)
    try {
      const info = (await (await fetch(`${client.url}/v1/info`)).json()) as { starting: boolean }
      if (!info.starting && (await activeNodes(client)) > 0) break
    } catch {
      /* not listening yet, or no worker yet */
    }
    if (Date.now() > until) {
      await stop()
      throw new Error(`trino did not start in 5 minutes (log: ${logFile}):\n${log.slice(-3000)}`)
    }
    await new Promise((r) => setTimeout(r, 500))
  }
  return { client, log: () => log, stop }
}
