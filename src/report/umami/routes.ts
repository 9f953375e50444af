/**
 * Umami's website API (v3, as `@umami/api-client` calls it) over the query layer: websites, stats,
 * pageviews, metrics (+ expanded), active, events series and stats, sessions and their stats,
 * event-data and session-data properties and values, and the share-link exchange.
 *
 * Auth: `authorizeSite` with read and share keys (the admin token reads every site; a key of
 * another site → 403). Parameters are validated here (400 naming the parameter, docs/reporting.md);
 * parameters Floe cannot honour (`segment`, `cohort`, `excludeBounce`) are refused rather than
 * ignored, since ignoring them would return numbers for a different question.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ReportConfig } from '../../config.ts'
import { ShareLinkNotFoundError, SiteNotFoundError, ValidationError } from '../../errors.ts'
import type { KeyStore } from '../../sites/keys.ts'
import type { Site } from '../../sites/site.ts'
import type { SiteStore } from '../../sites/store.ts'
import { authorizeSite, siteIdsFor } from '../../receive/site-auth.ts'
import type { QueryLayer } from '../query-layer.ts'
import { compareRange, parseDateRange, type DateRange } from '../range.ts'
import { FILTER_PARAMS, parseFilters } from './filters.ts'
import { METRIC_TYPES, UmamiQueries, type MetricType, type QueryScope } from './queries.ts'

export interface UmamiApiOptions {
  layer: QueryLayer
  sites: SiteStore
  keys: KeyStore
  adminToken: string | undefined
  config: ReportConfig
}

type Query = Record<string, string | undefined>

const str = { type: 'string', maxLength: 2000 }
/** Every parameter Umami's clients send on these routes; values stay strings (validated by hand). */
const QUERY_PARAMS = [
  'startAt',
  'endAt',
  'startDate',
  'endDate',
  'unit',
  'timezone',
  'compare',
  'type',
  'limit',
  'offset',
  'search',
  'page',
  'pageSize',
  'match',
  'eventName',
  'propertyName',
  'segment',
  'cohort',
  'excludeBounce',
  ...FILTER_PARAMS,
]
const querystring = {
  type: 'object',
  properties: Object.fromEntries(QUERY_PARAMS.map((p) => [p, str])),
}
const websiteParams = {
  type: 'object',
  required: ['websiteId'],
  properties: { websiteId: { type: 'string', maxLength: 100 } },
}

function int(q: Query, name: string, fallback: number, min: number, max: number): number {
  const v = q[name]
  if (v === undefined || v === '') return fallback
  if (!/^-?\d+$/.test(v)) throw new ValidationError(name, `must be an integer, got "${v}"`)
  const n = Number(v)
  if (n < min || n > max) throw new ValidationError(name, `must be between ${min} and ${max}, got ${n}`)
  return n
}

function website(s: Site) {
  return {
    id: s.id,
    name: s.name,
    domain: s.domains[0] ?? null,
    shareId: null,
    resetAt: null,
    userId: null,
    teamId: null,
    createdBy: null,
    recorderEnabled: false,
    replayConfig: null,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    deletedAt: s.deletedAt,
  }
}

export async function umamiApiPlugin(app: FastifyInstance, o: UmamiApiOptions): Promise<void> {
  const queries = new UmamiQueries(o.layer)
  const auth = { adminToken: o.adminToken, keys: o.keys, kinds: ['read', 'share'] as const }

  /** The site, if the request may read it (401/403 otherwise, 404 for an unknown site). */
  async function siteOf(req: FastifyRequest): Promise<Site> {
    const { websiteId } = req.params as { websiteId: string }
    await authorizeSite(req, websiteId, auth)
    const site = await o.sites.get(websiteId.toLowerCase())
    if (!site) throw new SiteNotFoundError(websiteId)
    return site
  }

  function scopeOf(site: Site, q: Query, o2: { required?: boolean } = {}): QueryScope {
    for (const p of ['segment', 'cohort', 'excludeBounce'])
      if (q[p] !== undefined && q[p] !== '')
        throw new ValidationError(
          p,
          'is not supported by Floe (saved segments, cohorts and bounce exclusion)',
        )
    const match = q.match ?? 'all'
    if (match !== 'all' && match !== 'any')
      throw new ValidationError('match', `must be all or any, got "${match}"`)
    const range = parseDateRange(q, o.config.maxSpanDays, o2)
    return { siteId: site.id, range, filters: parseFilters(q), match }
  }

  function compareOf(q: Query, range: DateRange, fallback?: 'prev'): DateRange | undefined {
    const c = q.compare ?? fallback
    if (c === undefined || c === '') return undefined
    if (c !== 'prev' && c !== 'yoy') throw new ValidationError('compare', `must be prev or yoy, got "${c}"`)
    return compareRange(range, c)
  }

  function metricType(q: Query): MetricType {
    const t = q.type
    if (!t) throw new ValidationError('type', 'is required')
    if (!(METRIC_TYPES as readonly string[]).includes(t))
      throw new ValidationError('type', `unknown metric type "${t}"; one of ${METRIC_TYPES.join(', ')}`)
    return t as MetricType
  }

  const schema = { schema: { params: websiteParams, querystring } }

  app.get('/websites', { schema: { querystring } }, async (req) => {
    const q = req.query as Query
    const page = int(q, 'page', 1, 1, 1_000_000)
    const pageSize = int(q, 'pageSize', 20, 1, 1000)
    const allowed = await siteIdsFor(req, auth)
    let list =
      allowed === 'all'
        ? await o.sites.list()
        : (await Promise.all(allowed.map((id) => o.sites.get(id)))).filter((s): s is Site => s !== null)
    if (q.search) {
      const needle = q.search.toLowerCase()
      list = list.filter(
        (s) => s.name.toLowerCase().includes(needle) || s.domains.some((d) => d.includes(needle)),
      )
    }
    const data = list.slice((page - 1) * pageSize, page * pageSize).map(website)
    return { data, count: list.length, page, pageSize }
  })

  app.get('/websites/:websiteId', schema, async (req) => website(await siteOf(req)))

  app.get('/websites/:websiteId/stats', schema, async (req) => {
    const q = req.query as Query
    const scope = scopeOf(await siteOf(req), q)
    const prev = compareOf(q, scope.range, 'prev')!
    const [data, comparison] = await Promise.all([
      queries.stats(scope),
      queries.stats({ ...scope, range: prev }),
    ])
    return { ...data, comparison }
  })

  app.get('/websites/:websiteId/pageviews', schema, async (req) => {
    const q = req.query as Query
    const scope = scopeOf(await siteOf(req), q)
    const cmp = compareOf(q, scope.range)
    if (!cmp) return queries.pageviewSeries(scope)
    // The two ranges are independent queries: DuckDB runs them side by side.
    const [series, other] = await Promise.all([
      queries.pageviewSeries(scope),
      queries.pageviewSeries({ ...scope, range: cmp }),
    ])
    return {
      ...series,
      startDate: scope.range.startDate.toISOString(),
      endDate: scope.range.endDate.toISOString(),
      compare: { ...other, startDate: cmp.startDate.toISOString(), endDate: cmp.endDate.toISOString() },
    }
  })

  app.get('/websites/:websiteId/metrics', schema, async (req) => {
    const q = req.query as Query
    const site = await siteOf(req)
    const type = metricType(q)
    const scope = scopeOf(site, q)
    return queries.metrics(scope, type, {
      limit: int(q, 'limit', 500, 1, 10_000),
      offset: int(q, 'offset', 0, 0, 1_000_000),
      search: q.search || undefined,
    })
  })

  app.get('/websites/:websiteId/metrics/expanded', schema, async (req) => {
    const q = req.query as Query
    const site = await siteOf(req)
    const type = metricType(q)
    const scope = scopeOf(site, q)
    return queries.expandedMetrics(scope, type, {
      limit: int(q, 'limit', 500, 1, 10_000),
      offset: int(q, 'offset', 0, 0, 1_000_000),
      search: q.search || undefined,
    })
  })

  app.get('/websites/:websiteId/active', schema, async (req) => queries.active((await siteOf(req)).id))

  app.get('/websites/:websiteId/events/series', schema, async (req) => {
    const q = req.query as Query
    return queries.eventSeries(scopeOf(await siteOf(req), q))
  })

  app.get('/websites/:websiteId/events/stats', schema, async (req) => {
    const q = req.query as Query
    const scope = scopeOf(await siteOf(req), q)
    const prev = compareOf(q, scope.range, 'prev')!
    const [data, comparison] = await Promise.all([
      queries.eventStats(scope),
      queries.eventStats({ ...scope, range: prev }),
    ])
    return { data: { ...data, comparison } }
  })

  app.get('/websites/:websiteId/sessions', schema, async (req) => {
    const q = req.query as Query
    const scope = scopeOf(await siteOf(req), q)
    const page = int(q, 'page', 1, 1, 1_000_000)
    const pageSize = int(q, 'pageSize', 20, 1, 1000)
    const { data, count } = await queries.sessions(scope, { page, pageSize, search: q.search || undefined })
    return { data, count, page, pageSize }
  })

  app.get('/websites/:websiteId/sessions/stats', schema, async (req) => {
    const q = req.query as Query
    const row = await queries.sessionStats(scopeOf(await siteOf(req), q))
    return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, { value: Number(v) || 0 }]))
  })

  app.get('/websites/:websiteId/event-data/properties', schema, async (req) => {
    const q = req.query as Query
    return queries.eventDataProperties(scopeOf(await siteOf(req), q), q.propertyName || undefined)
  })

  app.get('/websites/:websiteId/event-data/values', schema, async (req) => {
    const q = req.query as Query
    const site = await siteOf(req)
    if (!q.eventName) throw new ValidationError('eventName', 'is required')
    if (!q.propertyName) throw new ValidationError('propertyName', 'is required')
    return queries.eventDataValues(scopeOf(site, q), q.eventName, q.propertyName)
  })

  app.get('/websites/:websiteId/session-data/properties', schema, async (req) => {
    const q = req.query as Query
    return queries.sessionDataProperties(scopeOf(await siteOf(req), q))
  })

  app.get('/websites/:websiteId/session-data/values', schema, async (req) => {
    const q = req.query as Query
    const site = await siteOf(req)
    if (!q.propertyName) throw new ValidationError('propertyName', 'is required')
    return queries.sessionDataValues(scopeOf(site, q), q.propertyName)
  })

  // Umami's share page exchanges the share id for a token it then sends as x-umami-share-token.
  // Floe's share id is a share key's token: the link is the secret, revoking the key ends it.
  app.get(
    '/share/:shareId',
    {
      schema: {
        params: {
          type: 'object',
          required: ['shareId'],
          properties: { shareId: { type: 'string', maxLength: 200 } },
        },
      },
    },
    async (req) => {
      const { shareId } = req.params as { shareId: string }
      const key = await o.keys.resolve(shareId)
      if (!key || key.kind !== 'share') throw new ShareLinkNotFoundError()
      return { websiteId: key.siteId, token: shareId }
    },
  )
}
