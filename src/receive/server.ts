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
import { CorsAllowlist } from './cors.ts'
import { collectPlugin } from './collect.ts'
import { sitesPlugin } from './sites-routes.ts'
import { trackerPlugin } from './tracker.ts'
import { toHttpError } from './http-errors.ts'
import { receiverLogger } from './logging.ts'

/**
 * Extra routes registered next to Floe's own (admin flush, /metrics, /iceberg/v1): a function that
 * registers them, so each plugin keeps its own option types.
 */
export type ServerPlugin = (app: FastifyInstance) => PromiseLike<unknown>

export interface ServerDeps {
  config: FloeConfig
  sites: SiteStore
  sink: EventSink
  /** MaxMind-format City reader (GEOLITE_DB_PATH); absent = geo only from CDN headers. */
  geo?: GeoReader
  /** Extra plugins registered next to Floe's routes (e.g. the Iceberg REST endpoint at /iceberg/v1). */
  plugins?: ServerPlugin[]
  logger: Logger
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
    // The client IP is resolved by enrich/ip.ts (Umami's header order), not by Fastify.
    trustProxy: false,
    requestIdHeader: false,
  })
  const pipeline = createPipeline({
    appSecret: config.appSecret,
    clientIpHeader: config.clientIpHeader,
    ignoreIp: config.ignoreIp,
    disableBotCheck: config.disableBotCheck,
    lookupSite: (id) => sites.get(id),
    geo: deps.geo,
    eventTimeWindow: config.eventTime,
  })
  const allowlist = new CorsAllowlist()
  allowlist.rebuild(await sites.list())
  sites.onChange(async () => allowlist.rebuild(await sites.list()))

  app.setErrorHandler((err, req, reply) => {
    const http = toHttpError(err)
    if (http.status >= 500) req.log.error({ err }, 'request failed')
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
  // One log line per response, without IP or headers (see logging.ts); no hook at all when the
  // level is above info, so the hot path pays nothing for it then.
  if (deps.logger.isLevelEnabled('info'))
    app.addHook('onResponse', (req, reply, done) => {
      req.log.info(
        { req, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
        'request',
      )
      done()
    })

  await app.register(rateLimit, { global: false })
  await app.register(collectPlugin, {
    prefix: '/api',
    pipeline,
    sink: deps.sink,
    allowlist,
    corsAllowAll: config.corsAllowAll,
    rateLimit: config.rateLimit,
  })
  await app.register(sitesPlugin, {
    prefix: '/api/sites',
    sites,
    adminToken: config.adminToken,
    publicUrl: config.publicUrl,
  })
  await app.register(trackerPlugin)

  app.get('/healthz', async () => ({ status: 'ok' }))
  const ready = deps.ready ?? (() => sites.ping())
  app.get('/readyz', async (_req, reply) => {
    try {
      await ready()
      return { status: 'ok' }
    } catch (err) {
      return reply.code(503).send({ status: 'unavailable', error: (err as Error).message })
    }
  })

  for (const register of deps.plugins ?? []) await register(app as unknown as FastifyInstance)
  // Fastify types the app by its logger (pino Logger); callers see the base logger type.
  return { app: app as unknown as FastifyInstance, pipeline, allowlist }
}
