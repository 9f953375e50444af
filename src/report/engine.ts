/**
 * The analytical engine of the query layer: one in-process DuckDB instance (`@duckdb/node-api`)
 * with a memory limit and a thread count from the settings, so reporting cannot grow the process
 * past them (DuckDB spills to its temp folder or fails the query instead). Each query gets its own
 * connection (connections are cheap; temp tables such as the live rows are per connection) and is
 * interrupted after the query timeout. Why DuckDB: docs/decisions.md ("Reporting runs on DuckDB").
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api'
import { QueryTimeoutError } from '../errors.ts'

export interface EngineOptions {
  memoryMb: number
  threads: number
  timeoutMs: number
  /** DuckDB's spill folder (temp_directory). */
  tempDir: string
}

export type SqlValue = string | number | boolean | null | bigint
export type SqlParams = Record<string, SqlValue | readonly string[]>

export class ReportEngine {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly timeoutMs: number,
  ) {}

  static async open(o: EngineOptions): Promise<ReportEngine> {
    mkdirSync(o.tempDir, { recursive: true })
    const instance = await DuckDBInstance.create(':memory:', {
      memory_limit: `${o.memoryMb}MB`,
      threads: String(o.threads),
      temp_directory: path.resolve(o.tempDir),
      // Files are named by the planner only; nothing reaches DuckDB from a client but bound values.
      enable_external_access: 'true',
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    })
    // Data files never change under a path (Iceberg writes new files), so their footers can be
    // kept: a warm query then opens only the column chunks it reads (bench/reporting-profile.ts).
    // Not an option DuckDB takes at creation: set once for the instance.
    const c = await instance.connect()
    try {
      await c.run('SET GLOBAL parquet_metadata_cache = true')
    } finally {
      c.closeSync()
    }
    return new ReportEngine(instance, o.timeoutMs)
  }

  /**
   * Runs `work` on a fresh connection, interrupted after the timeout; the connection is closed
   * afterwards (its temp tables go with it).
   */
  async withConnection<T>(work: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const c = await this.instance.connect()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      c.interrupt()
    }, this.timeoutMs)
    try {
      return await work(c)
    } catch (err) {
      if (timedOut) throw new QueryTimeoutError(this.timeoutMs / 1000)
      throw err
    } finally {
      clearTimeout(timer)
      c.closeSync()
    }
  }

  close(): void {
    this.instance.closeSync()
  }
}

/** Rows of a result as plain objects: BIGINT/HUGEINT become numbers, DECIMAL numbers, lists arrays. */
export async function readRows<T>(
  c: DuckDBConnection,
  sql: string,
  params: Record<string, DuckDBValue>,
): Promise<T[]> {
  const reader = await c.runAndReadAll(sql, params)
  return reader.getRowObjectsJS().map((row) => {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(row)) out[k] = plain(v)
    return out as T
  })
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v)
  if (Array.isArray(v)) return v.map(plain)
  return v
}
