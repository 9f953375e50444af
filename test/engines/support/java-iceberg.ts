/**
 * Runs the Iceberg Java checker (`test/engines/iceberg-java/`, a small Maven project) from the
 * engines suite. `mvn -q -B compile` builds it once per test process and writes the runtime
 * classpath to `target/classpath.txt`; a warm run resolves everything from `~/.m2` (no network,
 * no `-o` needed). Each `runIcebergJava` call starts one JVM that loads the catalog, runs the
 * commands in order, prints one JSON line per result and exits.
 *
 * The JVM is spawned asynchronously: the REST catalog commands talk to a Floe app in this same
 * Node process, whose event loop must keep running meanwhile.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'

export const ICEBERG_JAVA_DIR = path.resolve(import.meta.dirname, '../iceberg-java')

/** How the JVM reaches the catalog: Iceberg's catalog type and properties (CatalogUtil). */
export interface JavaCatalog {
  type: 'jdbc' | 'rest' | 'hadoop'
  /** Catalog name; for jdbc the `catalog_name` column (Floe's ICEBERG_CATALOG_NAME). */
  name?: string
  namespace?: string
  properties: Record<string, string>
}

export type JavaCommand =
  | { op: 'info' | 'scan' | 'metrics' | 'rewrite-manifests'; table: string }
  | { op: 'list-tables' }
  | { op: 'plan'; table: string; day?: string; site?: string; column?: string }
  | { op: 'append'; table: string; rows: Record<string, unknown>[] }
  | { op: 'expire-snapshots'; table: string; retainLast?: number }

/** One JSON line printed by the Java side (`kind` says which: row, scanned, plan, metrics, ...). */
export type JavaLine = { kind: string; table?: string } & Record<string, unknown>

function run(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out, err }))
  })
}

let built: Promise<string> | undefined

/** Compiles the checker (once per process) and returns its runtime classpath. */
export function buildIcebergJava(): Promise<string> {
  built ??= (async () => {
    const started = Date.now()
    const r = await run('mvn', ['-q', '-B', 'compile'], ICEBERG_JAVA_DIR)
    if (r.code !== 0) throw new Error(`mvn compile failed (${r.code}):\n${r.out}\n${r.err}`)
    const deps = readFileSync(path.join(ICEBERG_JAVA_DIR, 'target/classpath.txt'), 'utf8').trim()
    console.log(`iceberg-java: mvn compile ${Date.now() - started} ms`)
    return [path.join(ICEBERG_JAVA_DIR, 'target/classes'), deps].join(path.delimiter)
  })()
  return built
}

/** Runs `commands` against `catalog` in one JVM; rejects with Java's error line and stderr tail. */
export async function runIcebergJava(catalog: JavaCatalog, commands: JavaCommand[]): Promise<JavaLine[]> {
  const classpath = await buildIcebergJava()
  const args = [
    '-cp',
    classpath,
    'floe.engines.Main',
    JSON.stringify(catalog),
    ...commands.map((c) => JSON.stringify(c)),
  ]
  const r = await run('java', args, ICEBERG_JAVA_DIR)
  const lines = r.out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JavaLine)
  if (r.code !== 0) {
    const error = lines.find((l) => l.kind === 'error')
    throw new Error(`iceberg-java exited ${r.code}: ${JSON.stringify(error)}\n${r.err.slice(-4000)}`)
  }
  return lines
}

/** Lines of one kind (and table), e.g. the scanned rows of `pa_events`. */
export function linesOf(lines: JavaLine[], kind: string, table?: string): JavaLine[] {
  return lines.filter(
    (l) => l.kind === kind && (table === undefined || String(l.table).endsWith(`.${table}`)),
  )
}
