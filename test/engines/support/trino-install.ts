/**
 * Trino from Maven Central, cached: `io.trino:trino-server-core` (tar.gz: the server without
 * connectors) plus the `io.trino:trino-iceberg` plugin zip, unpacked by Maven's dependency plugin
 * into the engines cache folder. The archives themselves stay in ~/.m2, so a warm run does
 * nothing here and a run with a warm ~/.m2 only unpacks.
 *
 * 476 is the newest `trino-server-core` that resolves from Maven Central (477 to 483 do not), and
 * it needs Java 24 or newer: see trinoJavaHome().
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import path from 'node:path'

export const TRINO_VERSION = process.env.FLOE_TRINO_VERSION ?? '476'

/** Where the engines suite keeps unpacked downloads: FLOE_ENGINES_CACHE or ~/.cache/floe-engines. */
export function enginesCacheDir(): string {
  return process.env.FLOE_ENGINES_CACHE ?? path.join(homedir(), '.cache', 'floe-engines')
}

/** A JDK that runs Trino (24+): FLOE_TRINO_JAVA_HOME, else the newest Temurin 24+ in /usr/lib/jvm. */
export function trinoJavaHome(): string {
  if (process.env.FLOE_TRINO_JAVA_HOME) return process.env.FLOE_TRINO_JAVA_HOME
  const jvm = '/usr/lib/jvm'
  const candidates = existsSync(jvm)
    ? readdirSync(jvm)
        .map((d) => ({ d, v: Number(/(?:temurin|jdk|java)-(\d+)/.exec(d)?.[1] ?? 0) }))
        .filter((c) => c.v >= 24)
        .sort((a, b) => b.v - a.v)
    : []
  if (candidates.length === 0)
    throw new Error('Trino needs Java 24+: set FLOE_TRINO_JAVA_HOME to such a JDK (none in /usr/lib/jvm)')
  return path.join(jvm, candidates[0].d)
}

function mavenUnpack(artifact: string, into: string): void {
  // A pinned plugin version: the default one Maven picks for `dependency:` is old (2.8).
  execFileSync(
    'mvn',
    [
      '-B',
      '-q',
      'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:unpack',
      `-Dartifact=${artifact}`,
      `-DoutputDirectory=${into}`,
      // Fresh markers: with the default (shared) markers folder the plugin skips an artifact it
      // unpacked before, anywhere, and the new folder stays empty.
      `-DmarkersDirectory=${into}.markers`,
      '-Dmdep.overWriteReleases=true',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'], timeout: 20 * 60_000 },
  )
}

/**
 * The unpacked server (bin/, lib/, plugin/ with iceberg added); installs it on first use. The
 * folder only appears complete (renamed into place), so an interrupted install is redone.
 */
export function ensureTrino(): string {
  const dir = path.join(enginesCacheDir(), `trino-${TRINO_VERSION}`)
  if (existsSync(path.join(dir, 'lib'))) return dir
  const tmp = `${dir}.partial-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  mavenUnpack(`io.trino:trino-server-core:${TRINO_VERSION}:tar.gz`, tmp)
  mavenUnpack(`io.trino:trino-iceberg:${TRINO_VERSION}:zip`, path.join(tmp, 'plugins'))
  // The tarball has one top folder (trino-server-core-N/); the zip one (trino-iceberg-N/).
  const server = path.join(tmp, `trino-server-core-${TRINO_VERSION}`)
  renameSync(
    path.join(tmp, 'plugins', `trino-iceberg-${TRINO_VERSION}`),
    path.join(server, 'plugin', 'iceberg'),
  )
  writeFileSync(path.join(server, 'floe-installed-from-maven'), `${TRINO_VERSION}\n`)
  renameSync(server, dir)
  rmSync(tmp, { recursive: true, force: true })
  rmSync(`${tmp}.markers`, { recursive: true, force: true })
  return dir
}
