/**
 * Process entry point: config → app → listen; SIGTERM/SIGINT drain gracefully.
 *
 * Shutdown order (each step bounded by FLOE_SHUTDOWN_TIMEOUT_SECONDS overall):
 * 1. stop accepting: the HTTP server stops listening and answers 503 on kept-alive connections,
 *    in-flight requests finish (their rows are in the WAL before they answer);
 * 2. flush every table and commit (retrying while storage is down, until the deadline);
 * 3. close the WAL and the catalog/site stores; exit 0.
 * Rows still uncommitted at the deadline stay in the WAL and are replayed on the next start, so
 * the exit is still 0 unless the WAL is disabled (then they are lost: exit 1).
 */
import { loadConfig, type FloeConfig } from './config.ts'
import { ConfigError } from './errors.ts'
import { createApp } from './app.ts'
import { causeChain, during, StartupError } from './startup-error.ts'

async function main(): Promise<void> {
  let config: FloeConfig
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`floe: configuration error: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }

  const app = await createApp(config)
  const log = app.server.log
  await app.start()
  await during(
    { what: 'cannot listen', setting: 'PORT/HOST', address: `${config.host}:${config.port}` },
    () => app.server.listen({ port: config.port, host: config.host }),
  )
  // Without a token every admin call is refused (403), which is easy to take for a bug: say so.
  if (!config.adminToken)
    log.warn(
      'ADMIN_TOKEN is unset: the admin API (/api/sites, /api/admin/flush) is disabled; ' +
        'set ADMIN_TOKEN before starting Floe to create sites',
    )

  let stopping = false
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    const timeoutMs = config.shutdownTimeoutSeconds * 1000
    log.info(
      { signal, timeoutSeconds: config.shutdownTimeoutSeconds },
      'shutting down: stop accepting, flush, commit',
    )
    // A hard stop in case something hangs (e.g. a socket that never closes): the WAL keeps the rows.
    setTimeout(() => {
      log.error('shutdown timed out; uncommitted rows stay in the write-ahead log')
      process.exit(config.wal.enabled ? 0 : 1)
    }, timeoutMs).unref()
    // Leave a margin under the hard stop for closing stores and flushing logs.
    app
      .close(Date.now() + Math.max(500, timeoutMs - 1500))
      .then((drained) => {
        log.info(
          { drained },
          drained ? 'all rows committed; bye' : 'rows left in the write-ahead log for next start',
        )
        process.exit(drained || config.wal.enabled ? 0 : 1)
      })
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed')
        process.exit(1)
      })
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`floe: configuration error: ${err.message}\n`)
    process.exit(1)
  }
  // One line: what failed, the setting and address (StartupError), and the whole cause chain.
  const message = err instanceof StartupError ? err.message : causeChain(err)
  process.stderr.write(`floe: failed to start: ${message}\n`)
  if (process.env.LOG_LEVEL === 'debug' && err instanceof Error) process.stderr.write(`${err.stack}\n`)
  process.exit(1)
})
