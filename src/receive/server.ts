/**
 * Floe's HTTP front door: `buildServer(deps)` assembles the Fastify app (collect endpoints, site
 * admin API, health, the tracker script, extra plugins such as /iceberg/v1) without listening;
 * the caller (src/main.ts) listens and closes it.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import type { Logger } from 'pino'
import type { FloeConfig } from '../config.ts'
import type { EventSink } from '../buffer/sink.ts'
import type { GeoReader } from '../enrich/geo.ts'
import { createPipeline, type Pipeline } from '../enrich/process.ts'
import type { SiteStore } from '../sites/store.ts'
import type { KeyStore } from '../sites/keys.ts'
import { CorsAllowlist } from './cors.ts'
import { collectPlugin } from './collect.ts'
import { sitesPlugin } from './sites-routes.ts'
import { trackerPlugin } from './tracker.ts'
import { dashboardPlugin } from './dashboard.ts'
import { toHttpError } from './http-errors.ts'
import { receiverLogger } from './logging.ts'
import { isAdmin } from './admin-auth.ts'
import { v1EventsPlugin } from './v1-events.ts'
import { authorizeWrite } from './write-auth.ts'
import { siteSecretsPlugin } from './site-secrets-routes.ts'
import type { SecretStore } from '../sites/secrets.ts'
import type { SamplingStore } from '../sites/sampling.ts'
import { siteSamplingPlugin } from './site-sampling-routes.ts'
import { createV1Enricher } from '../enrich/v1-event.ts'
import { adminReplayRoute, type ReplayOptions } from './admin-replay.ts'

/**
 * Extra routes registered next to Floe's own (admin flush, /metrics, /iceberg/v1): a function that
 * registers them, so each plugin keeps its own option types.
 */
export type ServerPlugin = (app: FastifyInstance) => PromiseLike<unknown>

export interface ServerDeps {
  config: FloeConfig
  sites: SiteStore
  /** Per-site keys (read, write, share), managed under /api/sites/:id/keys. */
  keys: KeyStore
  /** Per-site signing secrets (signed /v1/events requests, browser tokens). */
  secrets: SecretStore
  /** Per-site sampling rules for /v1/events. */
  sampling: SamplingStore
  sink: EventSink
  /** MaxMind-format City reader (GEOLITE_DB_PATH); absent = geo only from CDN headers. */
  geo?: GeoReader
  /** Extra plugins registered next to Floe's routes (e.g. the Iceberg REST endpoint at /iceberg/v1). */
  plugins?: ServerPlugin[]
  logger: Logger
  /** `POST /api/admin/replay`: reads `pa_rejected` and remembers what was replayed (absent: no route). */
  replay?: Pick<ReplayOptions, 'read' | 'markers'>
  /** Readiness (catalog and storage reachable); throws when not ready. Default: the site store's database. */
  ready?: () => Promise<void>
}

export interface FloeServer {
  app: FastifyInstance
  pipeline: Pipeline
  allowlist: CorsAllowlist
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  return (await buildReceiver(deps)).app
}

/** Like buildServer, also exposing the pipeline and CORS allowlist (tests, bench). */
export async function buildReceiver(deps: ServerDeps): Promise<FloeServer> {
  const { config, sites } = deps
  const app = Fastify({
    loggerInstance: receiverLogger(deps.logger),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    // Slow clients (a body trickled a byte at a time, headers never finished, idle sockets) are
    // cut off, so they cannot hold sockets and file descriptors forever (slowloris).
    requestTimeout: config.http.requestTimeoutSeconds * 1000,
    connectionTimeout: config.http.idleTimeoutSeconds * 1000,
    keepAliveTimeout: config.http.keepAliveTimeoutSeconds * 1000,
    http: {
      headersTimeout: config.http.headersTimeoutSeconds * 1000,
      // Node checks the request and headers timeouts on this interval (default 30 s, which would
      // let a slow request live up to 30 s past its limit).
      connectionsCheckingInterval: 1000,
    },
    // `request.ip` (the rate limiter's key, client-address.ts) believes X-Forwarded-For only for
    // TRUST_PROXY_HOPS trusted proxies. Geo and session ids use enrich/ip.ts (Umami's header order).
    // (The hop-count function is what Fastify builds from `trustProxy: n`; its types lack the number.)
    trustProxy:
      config.trustProxyHops > 0 ? (_address: string, hop: number) => hop < config.trustProxyHops : false,
    requestIdHeader: false,
    // No child logger per request: building one (its bindings serialised) cost every request,
    // though nearly none logs. Lines about a request carry it as `req` (method, url, id) instead.
    childLoggerFactory: (logger) => logger,
  })
  // A cap below the process's file-descriptor limit: beyond it new sockets are closed at once
  // instead of exhausting descriptors (which would also stop the WAL and storage from opening files).
  app.server.maxConnections = config.http.maxConnections
  const pipeline = createPipeline({
    appSecret: config.appSecret,
    clientIpHeader: config.clientIpHeader,
    ignoreIp: config.ignoreIp,
    disableBotCheck: config.disableBotCheck,
    lookupSite: (id) => sites.get(id),
    geo: deps.geo,
    sessionData: config.sessionData,
    eventTimeWindow: config.eventTime,
  })
  const allowlist = new CorsAllowlist()
  allowlist.rebuild(await sites.list())
  sites.onChange(async () => allowlist.rebuild(await sites.list()))

  // Requests whose failure the error handler already logged (with the error): no second line.
  const errorLogged = new WeakSet<object>()
  app.setErrorHandler((err, req, reply) => {
    const http = toHttpError(err)
    if (http.status >= 500) {
      req.log.error({ req, err }, 'request failed')
      errorLogged.add(req)
    }
    if (http.headers) reply.headers(http.headers)
    reply.code(http.status).send(http.body)
  })
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({
      error: {
        message: `${req.method} ${req.url.split('?')[0]} not found`,
        code: 'not-found',
        status: 404,
      },
    })
  })
  // Request logs, without IP or headers (see logging.ts). One line per response only when asked
  // (FLOE_LOG_REQUESTS): at info it cost throughput and filled logs. Otherwise only slow requests
  // (FLOE_LOG_SLOW_REQUEST_MS) and 5xx answers the error handler did not log get a line, at warn.
  // No hook at all when nothing could be logged, so the hot path pays nothing for it then.
  const everyRequest = config.logRequests && deps.logger.isLevelEnabled('info')
  if (everyRequest)
    app.addHook('onResponse', (req, reply, done) => {
      req.log.info(
        { req, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
        'request',
      )
      done()
    })
  else if (deps.logger.isLevelEnabled('warn')) {
    const slowMs = config.logSlowRequestMs
    app.addHook('onResponse', (req, reply, done) => {
      const ms = reply.elapsedTime
      const failed = reply.statusCode >= 500 && !errorLogged.has(req)
      if (failed || (slowMs > 0 && ms >= slowMs))
        req.log.warn(
          { req, statusCode: reply.statusCode, ms: Math.round(ms * 10) / 10 },
          failed ? 'request failed' : 'slow request',
        )
      done()
    })
  }

  await app.register(rateLimit, { global: false })
  await app.register(collectPlugin, {
    prefix: '/api',
    pipeline,
    sink: deps.sink,
    allowlist,
    corsAllowAll: config.corsAllowAll,
    rateLimit: config.rateLimit,
    clientIpHeader: config.clientIpHeader,
    deadLetter: config.deadLetter.enabled ? { lookupSite: (id) => sites.get(id) } : undefined,
  })
  const v1Enricher = createV1Enricher({
    appSecret: config.appSecret,
    clientIpHeader: config.clientIpHeader,
    disableBotCheck: config.disableBotCheck,
    geo: deps.geo,
    eventTimeWindow: config.eventTime,
  })
  await app.register(v1EventsPlugin, {
    prefix: '/v1',
    enricher: v1Enricher,
    sink: deps.sink,
    lookupSite: (id) => sites.get(id),
    samplingRules: (id) => deps.sampling.get(id),
    maxEvents: config.v1Events.maxPerRequest,
    rateLimit: config.rateLimit,
    clientIpHeader: config.clientIpHeader,
    deadLetter: config.deadLetter.enabled ? { sampledOut: config.deadLetter.sampledOut } : undefined,
    authorize: (req, siteId, rawBody) =>
      authorizeWrite(req, siteId, rawBody, {
        adminToken: config.adminToken,
        keys: deps.keys,
        secrets: deps.secrets,
        signatureToleranceSeconds: config.v1Events.signatureToleranceSeconds,
        browserTokenMaxTtlSeconds: config.v1Events.browserTokenMaxTtlSeconds,
      }),
  })
  if (deps.replay)
    await app.register(adminReplayRoute, {
      adminToken: config.adminToken,
      read: deps.replay.read,
      markers: deps.replay.markers,
      enricher: v1Enricher,
      pipeline,
      sink: deps.sink,
      lookupSite: (id) => sites.get(id),
      samplingRules: (id) => deps.sampling.get(id),
      maxEvents: config.deadLetter.replayMaxEvents,
    })
  await app.register(siteSamplingPlugin, {
    prefix: '/api/sites',
    sampling: deps.sampling,
    adminToken: config.adminToken,
  })
  await app.register(siteSecretsPlugin, {
    prefix: '/api/sites',
    secrets: deps.secrets,
    adminToken: config.adminToken,
  })
  await app.register(sitesPlugin, {
    prefix: '/api/sites',
    sites,
    keys: deps.keys,
    adminToken: config.adminToken,
    publicUrl: config.publicUrl,
  })
  await app.register(trackerPlugin)
  await app.register(dashboardPlugin)

  app.get('/healthz', async () => ({ status: 'ok' }))
  const ready = deps.ready ?? (() => sites.ping())
  // The failure's message names internal addresses (`connect ECONNREFUSED 10.0.0.5:5432`): only
  // an admin sees it; everyone else (load balancers) gets the status alone.
  app.get('/readyz', async (req, reply) => {
    try {
      await ready()
      return { status: 'ok' }
    } catch (err) {
      const body: { status: string; error?: string } = { status: 'unavailable' }
      if (isAdmin(req, config.adminToken)) body.error = (err as Error).message
      return reply.code(503).send(body)
    }
  })

  for (const register of deps.plugins ?? []) await register(app as unknown as FastifyInstance)
  // Fastify types the app by its logger (pino Logger); callers see the base logger type.
  return { app: app as unknown as FastifyInstance, pipeline, allowlist }
}
