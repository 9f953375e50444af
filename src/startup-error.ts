/**
 * Start-up failures in one line that names the setting, the address and the underlying cause, e.g.
 * `cannot reach the Iceberg REST catalog (ICEBERG_CATALOG_URI=http://10.0.0.7:8181): TypeError:
 * fetch failed <- Error: connect ECONNREFUSED 10.0.0.7:8181`. Node's fetch and pg hide the useful
 * part in `err.cause` (or an AggregateError's `errors`), which a bare `err.message` drops.
 */
import type { FloeConfig } from './config.ts'
import { FloeError } from './errors.ts'

export class StartupError extends FloeError {
  override name = 'StartupError'
  constructor(
    readonly what: string,
    readonly setting: string,
    readonly address: string,
    override readonly cause: unknown,
  ) {
    super(`${what} (${setting}=${address}): ${causeChain(cause)}`)
  }
}

/** `Name: message <- Name: message …` over `cause` links and AggregateError members. */
export function causeChain(err: unknown, depth = 0): string {
  if (depth > 5) return '…'
  if (!(err instanceof Error)) return String(err)
  let s = `${err.name}: ${err.message}`.replace(/\s*\n\s*/g, ' ')
  if (err instanceof AggregateError && err.errors.length > 0)
    s += ` [${err.errors.map((e: unknown) => causeChain(e, depth + 1)).join('; ')}]`
  if (err.cause !== undefined) s += ` <- ${causeChain(err.cause, depth + 1)}`
  return s
}

/** A URL without its password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return url
  }
}

export interface Phase {
  what: string
  setting: string
  address: string
}

/** The sites/catalog database: DATABASE_URL, or the embedded PGlite folder. */
export function databasePhase(config: FloeConfig): Phase {
  return config.databaseUrl !== undefined
    ? {
        what: 'cannot reach the Postgres database',
        setting: 'DATABASE_URL',
        address: redactUrl(config.databaseUrl),
      }
    : { what: 'cannot open the embedded database', setting: 'FLOE_DATA_DIR', address: config.dataDir }
}

/** The catalog and warehouse the tables are created in and loaded from at start. */
export function catalogPhase(config: FloeConfig): Phase {
  const ice = config.iceberg
  switch (ice.catalogType) {
    case 'rest':
      return {
        what: 'cannot reach the Iceberg REST catalog',
        setting: 'ICEBERG_CATALOG_URI',
        address: ice.catalogUri ?? '',
      }
    case 'glue':
      return {
        what: 'cannot reach AWS Glue',
        setting: ice.catalogUri ? 'ICEBERG_CATALOG_URI' : 'AWS_REGION',
        address: ice.catalogUri ?? ice.s3?.region ?? '(default chain)',
      }
    case 'hadoop':
      return { what: 'cannot open the hadoop tables', setting: 'ICEBERG_WAREHOUSE', address: ice.warehouse }
    case 'jdbc':
      return { ...databasePhase(config), what: 'cannot open the JDBC catalog' }
  }
}

/** Runs a start-up step; its failure becomes a StartupError naming the phase (ConfigErrors pass). */
export async function during<T>(phase: Phase, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (err) {
    if (err instanceof FloeError && err.name === 'ConfigError') throw err
    if (err instanceof StartupError) throw err
    throw new StartupError(phase.what, phase.setting, phase.address, err)
  }
}
