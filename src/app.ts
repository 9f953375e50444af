/**
 * Composition root: builds every stage from the one config object and wires them along the data's
 * path (receive → enrich → buffer/WAL → write → commit). Nothing else constructs stores or clients.
 *
 * Embedded default: with no DATABASE_URL and no ICEBERG_S3_BUCKET, the catalog and site tables live
 * in PGlite under `<FLOE_DATA_DIR>/pglite` and the warehouse is the local folder `./data/warehouse`
 * (both decided by config.ts / storage/index.ts), so `npm start` needs nothing else.
 */
import type { FastifyInstance } from 'fastify'
import pino, { type Logger } from 'pino'
import type { FloeConfig } from './config.ts'
import { IngestBuffer, type FlushResult } from './buffer/buffer.ts'
import { createCatalog } from './commit/index.ts'
import { openFileIO, openSql } from './storage/index.ts'
import { createTableWriter, type TableWriter } from './write/append.ts'
import { createEncoderPool } from './write/encoder-pool.ts'
import { SiteStore } from './sites/store.ts'
import { KeyStore } from './sites/keys.ts'
import { SecretStore } from './sites/secrets.ts'
import { SamplingStore } from './sites/sampling.ts'
import { openGeoReader } from './enrich/geo-reader.ts'
import type { GeoReader } from './enrich/geo.ts'
import { buildServer, type ServerPlugin } from './receive/server.ts'
import { adminFlushRoute } from './receive/admin-flush.ts'
import { metricsRoute } from './receive/metrics-route.ts'
import { icebergRestPlugin } from './read/rest-catalog.ts'
import { catalogPhase, databasePhase, during } from './startup-error.ts'
import { adminMaintenanceRoute } from './receive/admin-maintenance.ts'
import { MaintenanceRunner } from './maintenance/runner.ts'
import { loadTableDefinitions } from './write/table-definition.ts'
import { QueryLayer } from './report/query-layer.ts'
import { umamiApiPlugin } from './report/umami/routes.ts'
import { v1ReportRoutes } from './report/v1/routes.ts'
import { PgLedger } from './idempotency/pg-ledger.ts'
import type { EventSink } from './buffer/sink.ts'
import { openLog, type OpenedLog } from './log/open.ts'
import { LogWriter } from './log/writer.ts'
import { openCoordination } from './log/coordination.ts'
import { PublishSink, writerSink } from './log/publish-sink.ts'
import { ReplayMarkers } from './replay/markers.ts'
import { readRejected } from './replay/read-rejected.ts'

export interface FloeApp {
  server: FastifyInstance
  /** The local-WAL buffer (FLOE_ROLE=all, FLOE_LOG=wal); undefined over a replicated log. */
  buffer: IngestBuffer | undefined
  /** The writer consuming the replicated log (FLOE_ROLE=writer, or all over a replicated log). */
  logWriter: LogWriter | undefined
  /** Table maintenance (scheduled after `start()`; `POST /api/admin/maintenance` runs it now). */
  maintenance: MaintenanceRunner
  /** The reporting query layer (its `lastScan` says what the last query planned: the bench reads it). */
  layer: QueryLayer
  /** Creates tables, replays the WAL; call before `server.listen`. */
  start(): Promise<void>
  /** Commits everything accepted so far (what `POST /api/admin/flush` does). */
  flush(): Promise<FlushResult>
  /**
   * Graceful drain: stop accepting, flush + commit until `deadline` (ms epoch), close everything.
   * Resolves true when no row was left uncommitted.
   */
  close(deadline?: number): Promise<boolean>
}

export interface CreateAppOptions {
  logger?: Logger
}

export async function createApp(config: FloeConfig, opts: CreateAppOptions = {}): Promise<FloeApp> {
  // Fastify's logger is pino; no request serializer logs the client IP (see receive/server.ts).
  const logger = opts.logger ?? pino({ level: config.logLevel })
  // Each step that reaches out names its setting and address if it fails (startup-error.ts).
  const db = databasePhase(config)
  const sql = await during(db, () => openSql(config, { log: (m) => logger.info(m) }))
  const io = openFileIO(config)
  const catalog = await during(catalogPhase(config), () =>
    createCatalog(config, { sql, io, warn: (m) => logger.warn(m) }),
  )
  // Parquet encoding and manifests off the receiving thread (FLOE_ENCODE_WORKERS, write/encoder-pool.ts).
  const encoder = config.encodeWorkers > 0 ? createEncoderPool({ threads: config.encodeWorkers }) : undefined
  const tables = createTableWriter({ catalog, io, config, encoder })
  // Every committed append tells maintenance how long the table's history is, so a busy table's
  // snapshots are expired as they pile up, not only on the schedule (MaintenanceRunner.afterAppend).
  const writer: TableWriter = {
    ...tables,
    async append(table, rows, options) {
      const result = await tables.append(table, rows, options)
      maintenance.afterAppend(result)
      return result
    },
  }
  const sites = await during(db, () =>
    SiteStore.open(sql, {
      cacheTtlMs: config.siteCacheTtlSeconds * 1000,
      onError: (err) => logger.warn({ err }, 'acting on a site change from another process failed'),
    }),
  )
  const keys = await during(db, () => KeyStore.open(sql))
  const sampling = await during(db, () =>
    SamplingStore.open(sql, { cacheTtlMs: config.siteCacheTtlSeconds * 1000 }),
  )
  const secrets = await during(db, () =>
    SecretStore.open(sql, { cacheTtlMs: config.siteCacheTtlSeconds * 1000 }),
  )
  const geo: GeoReader | undefined = config.geoliteDbPath
    ? await openGeoReader(config.geoliteDbPath)
    : undefined
  // The idempotency ledger of /v1/events, shared by every replica on this database (docs/idempotency.md).
  const windowSeconds = config.v1Events.idempotencyWindowSeconds
  const ledger = windowSeconds > 0 ? await during(db, () => PgLedger.open(sql, { windowSeconds })) : undefined
  // FLOE_ROLE / FLOE_LOG (docs/deploy.md): the local WAL, or a replicated log between the roles.
  const replicated = config.log.kind !== 'wal'
  const log: OpenedLog | undefined = replicated
    ? await during(
        {
          what: `cannot open the ${config.log.kind} log`,
          setting: config.log.kind === 'nats' ? 'FLOE_NATS_URL' : 'FLOE_KAFKA_BROKERS',
          address: (config.log.kind === 'nats' ? config.log.nats.servers : config.log.kafka.brokers).join(
            ',',
          ),
        },
        () => openLog(config, { sql, logger }),
      )
    : undefined
  const buffer = replicated ? undefined : new IngestBuffer({ config, writer, logger, ledger })
  // FLOE_LOG_COMMIT_COORDINATOR: this writer stages files and one elected writer per table commits
  // every writer's files (src/log/commit-coordinator.ts); otherwise it commits its own.
  const coordinated =
    log?.consumer && config.log.commitCoordinator
      ? openCoordination(config, log, { sql, writer, logger })
      : undefined
  const logWriter = log?.consumer
    ? new LogWriter({
        log: log.name,
        writerId: log.processId,
        config,
        writer: coordinated?.writer ?? writer,
        consumer: log.consumer,
        logger,
      })
    : undefined
  const sink: EventSink =
    buffer ?? (log?.producer ? new PublishSink({ producer: log.producer, ledger, logger }) : writerSink)
  const flushAll = async (): Promise<FlushResult> =>
    buffer
      ? buffer.flush()
      : logWriter
        ? logWriter.flush()
        : { pa_events: [], pa_sessions: [], pa_rejected: [] }
  const replayMarkers = await during(db, () => ReplayMarkers.open(sql))
  const definitions = loadTableDefinitions()
  let ledgerCleanup: NodeJS.Timeout | undefined
  const maintenance = new MaintenanceRunner({
    catalog,
    io,
    sql,
    namespace: config.iceberg.namespace.split('.'),
    definitions,
    config: config.maintenance,
    // Per-site retention: each site's own setting, else FLOE_RETENTION_DEFAULT_DAYS (docs/retention.md).
    retention: async () => {
      const own = await sites.retentionDays()
      const defaultDays = config.maintenance.retention.defaultDays
      return { sites: own, defaultDays, daysFor: (site) => own.get(site) ?? defaultDays }
    },
    log: logger,
  })

  // Reporting reads the committed tables plus this replica's unflushed rows (docs/reporting.md);
  // over a replicated log, the committed tables only (docs/deploy.md).
  const layer = await QueryLayer.open({
    catalog,
    io,
    namespace: config.iceberg.namespace.split('.'),
    config: config.report,
    live: buffer,
  })

  const plugins: ServerPlugin[] = [
    (app) =>
      app.register(umamiApiPlugin, {
        prefix: '/api',
        layer,
        sites,
        keys,
        adminToken: config.adminToken,
        config: config.report,
      }),
    (app) =>
      app.register(v1ReportRoutes, {
        layer,
        sites,
        keys,
        adminToken: config.adminToken,
        maxSpanDays: config.report.maxSpanDays,
      }),
    (app) => app.register(adminFlushRoute, { adminToken: config.adminToken, flush: flushAll }),
    (app) =>
      app.register(adminMaintenanceRoute, {
        adminToken: config.adminToken,
        run: (req) => maintenance.run(req),
      }),
    (app) => app.register(metricsRoute),
    (app) =>
      app.register(icebergRestPlugin, {
        prefix: '/iceberg',
        catalog,
        io,
        readToken: config.iceberg.restReadToken,
        writeEnabled: config.iceberg.restWriteEnabled,
        warehouse: config.iceberg.warehouse,
        s3: config.iceberg.s3,
        readerS3: config.iceberg.restReaderS3,
      }),
  ]
  // Ready = the site database answers and the catalog can load a table's current metadata, which
  // also reads the metadata file from the warehouse (catalog and storage reachable).
  const ready = async () => {
    await sites.ping()
    await writer.load('pa_events')
  }
  const server = await buildServer({
    config,
    sites,
    keys,
    secrets,
    sampling,
    sink,
    geo,
    plugins,
    logger,
    ready,
    replay: {
      markers: replayMarkers,
      // What this replica holds is committed first, so a refusal it just took can be replayed.
      read: async (sel) => {
        await flushAll()
        return readRejected(
          io,
          catalog,
          { namespace: config.iceberg.namespace.split('.'), name: 'pa_rejected' },
          definitions.pa_rejected,
          sel,
        )
      },
    },
  })

  let closed: Promise<boolean> | undefined
  return {
    server,
    buffer,
    logWriter,
    maintenance,
    layer,
    async start() {
      await during(catalogPhase(config), async () => {
        await buffer?.start()
        await coordinated?.start()
        await logWriter?.start()
      })
      maintenance.start()
      // Hourly: idempotency claims past their window, remembered signatures past their tolerance.
      ledgerCleanup = setInterval(() => {
        ledger?.cleanup().catch((err) => logger.warn({ err }, 'idempotency ledger cleanup failed'))
        secrets.cleanupReplays().catch((err) => logger.warn({ err }, 'signature replay cleanup failed'))
      }, 3_600_000)
      ledgerCleanup.unref()
    },
    flush: flushAll,
    close(deadline = Date.now() + config.shutdownTimeoutSeconds * 1000) {
      closed ??= (async () => {
        // Stop accepting first: no new request reaches the buffer once the server is closed;
        // in-flight ones finish (their rows are in the WAL before they answer).
        await server.close()
        clearInterval(ledgerCleanup)
        // A maintenance run cut short is safe (nothing is deleted before its commit); wait briefly.
        await maintenance.stop(Math.min(deadline, Date.now() + 2000))
        let drained = true
        if (buffer) drained = await buffer.close(deadline)
        if (logWriter) drained = await logWriter.close(deadline)
        // After the writer's last flush, which may have waited on this process's own coordination.
        await coordinated?.close()
        // Publishes in flight finished with their requests (the server closed above).
        await log?.producer?.close()
        await log?.close()
        layer.close()
        await catalog.close()
        await sql.close()
        await encoder?.close()
        return drained
      })()
      return closed
    },
  }
}
