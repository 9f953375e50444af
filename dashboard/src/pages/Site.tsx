/**
 * A site's page, as Umami's: range and comparison, the five figures, the chart, the top tables and
 * the live count. All state is in the URL; every number comes from Umami's website API.
 */
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks'
import type { Api } from '../lib/api.ts'
import { Chart, type ChartData } from '../components/Chart.tsx'
import { EventProperties } from '../components/EventProperties.tsx'
import { FilterBar } from '../components/FilterBar.tsx'
import { Figures } from '../components/Figures.tsx'
import { Live } from '../components/Live.tsx'
import { MetricPanel } from '../components/MetricPanel.tsx'
import { RangePicker } from '../components/RangePicker.tsx'
import {
  RANGES,
  bucketKey,
  bucketStarts,
  keyOfX,
  resolveRange,
  timezone,
  type Compare,
  type RangeKey,
  type ResolvedRange,
} from '../lib/range.ts'
import { useAsync } from '../lib/use-async.ts'
import {
  FILTERS,
  websiteApi,
  type FilterKey,
  type PageviewSeries,
  type Point,
  type Query,
  type StatsWithComparison,
} from '../lib/website-api.ts'

const PANELS: { id: string; title: string; tabs: [string, string][] }[] = [
  {
    id: 'pages',
    title: 'Pages',
    tabs: [
      ['path', 'Pages'],
      ['entry', 'Entry pages'],
      ['exit', 'Exit pages'],
    ],
  },
  {
    id: 'sources',
    title: 'Sources',
    tabs: [
      ['referrer', 'Referrers'],
      ['channel', 'Channels'],
    ],
  },
  {
    id: 'campaigns',
    title: 'Campaigns',
    tabs: [
      ['utmCampaign', 'Campaigns'],
      ['utmSource', 'Sources'],
      ['utmMedium', 'Media'],
    ],
  },
  {
    id: 'location',
    title: 'Location',
    tabs: [
      ['country', 'Countries'],
      ['region', 'Regions'],
      ['city', 'Cities'],
    ],
  },
  {
    id: 'tech',
    title: 'Technology',
    tabs: [
      ['browser', 'Browsers'],
      ['os', 'OS'],
      ['device', 'Devices'],
    ],
  },
  { id: 'events', title: 'Events', tabs: [['event', 'Events']] },
]

const PANEL_IDS = [...PANELS.map((p) => p.id), 'properties']

export interface SiteView {
  range: RangeKey
  from?: string
  to?: string
  compare: Compare
  filters: [FilterKey, string][]
}

export function readView(search: string): SiteView {
  const q = new URLSearchParams(search)
  const r = q.get('range')
  const range = (RANGES.some(([k]) => k === r) ? r : '24h') as RangeKey
  const filters = FILTERS.flatMap((k) => (q.get(k) ? [[k, q.get(k)!] as [FilterKey, string]] : []))
  return {
    range,
    from: q.get('from') ?? undefined,
    to: q.get('to') ?? undefined,
    compare: q.get('compare') === 'yoy' ? 'yoy' : 'prev',
    filters,
  }
}

/** The API query for a view: Umami's startAt/endAt (ms), unit, timezone and filters. */
export function viewQuery(view: SiteView, r: ResolvedRange): Query {
  return {
    startAt: r.startAt,
    endAt: r.endAt,
    unit: r.unit,
    timezone: timezone(),
    compare: view.compare,
    ...Object.fromEntries(view.filters),
  }
}

function fill(points: Point[], r: ResolvedRange, starts: number[]): number[] {
  const byKey = new Map<string, number>()
  for (const p of points) byKey.set(keyOfX(p.x, r.unit), (byKey.get(keyOfX(p.x, r.unit)) ?? 0) + p.y)
  return starts.map((t) => byKey.get(bucketKey(t, r.unit)) ?? 0)
}

/** The comparison period as the server computes it: just before (prev) or a year earlier (yoy). */
export function comparisonRange(r: ResolvedRange, compare: Compare): ResolvedRange {
  if (compare === 'yoy') {
    const shift = (t: number) => {
      const d = new Date(t)
      d.setFullYear(d.getFullYear() - 1)
      return d.getTime()
    }
    return { ...r, startAt: shift(r.startAt), endAt: shift(r.endAt) }
  }
  const span = r.endAt - r.startAt + 1
  return { ...r, startAt: r.startAt - span, endAt: r.endAt - span }
}

/**
 * Chart data with empty buckets as 0. The comparison series lies in another period: its buckets
 * are matched by position (first bucket beside first bucket), as Umami's chart overlays them.
 */
export function chartData(series: PageviewSeries, r: ResolvedRange, compare: Compare): ChartData {
  const times = bucketStarts(r)
  const data: ChartData = {
    unit: r.unit,
    times,
    pageviews: fill(series.pageviews, r, times),
    visitors: fill(series.sessions, r, times),
  }
  if (series.compare) {
    const prev = comparisonRange(r, compare)
    const values = fill(series.compare.pageviews, prev, bucketStarts(prev))
    data.previous = times.map((_, i) => values[i] ?? 0)
  }
  return data
}

export function SitePage({
  api,
  siteId,
  search,
  siteName,
}: {
  api: Api
  siteId: string
  search: string
  siteName?: string
}) {
  const view = useMemo(() => readView(search), [search])
  // "Today" and "24 hours" move with the clock: resolve once per view change.
  const range = useMemo(() => resolveRange(view.range, view.from, view.to), [view])
  const query = useMemo(() => viewQuery(view, range), [view, range])
  const key = JSON.stringify(query)

  const stats = useAsync<StatsWithComparison>(() => websiteApi.stats(api, siteId, query), [siteId, key])
  const series = useAsync<PageviewSeries>(() => websiteApi.pageviews(api, siteId, query), [siteId, key])

  // Ready = figures, chart and every table show the answers for this view: the page's time budget
  // is measured to this moment (data-ready, ms since navigation), and tests wait for data-ready-for.
  const [loaded, setLoaded] = useState<Record<string, string>>({})
  const onLoaded = useCallback(
    (id: string, queryKey: string) => setLoaded((m) => (m[id] === queryKey ? m : { ...m, [id]: queryKey })),
    [],
  )
  const ready = !stats.loading && !series.loading && PANEL_IDS.every((id) => loaded[id] === key)
  useEffect(() => {
    const html = document.documentElement
    if (ready) {
      html.dataset.ready = String(Math.round(performance.now()))
      html.dataset.readyFor = search
    } else {
      delete html.dataset.ready
      delete html.dataset.readyFor
    }
  }, [ready, search])

  const chart = useMemo(
    () => (series.data ? chartData(series.data, range, view.compare) : undefined),
    [series.data, range, view.compare],
  )
  const rangeLabel = RANGES.find(([k]) => k === view.range)?.[1]

  return (
    <div class="site" aria-busy={!ready}>
      <div class="site-head">
        <h1>{siteName ?? 'Site'}</h1>
        <Live api={api} siteId={siteId} />
      </div>
      <RangePicker range={view.range} from={view.from} to={view.to} compare={view.compare} />
      <FilterBar filters={view.filters} />
      <section aria-label={`Summary, ${rangeLabel}`}>
        {stats.error ? (
          <p class="error" role="alert">
            {stats.error.message}
          </p>
        ) : stats.data ? (
          <Figures stats={stats.data} />
        ) : (
          <div class="figures placeholder" />
        )}
      </section>
      <section class="panel chart-panel" aria-label="Traffic">
        {series.error ? (
          <p class="error" role="alert">
            {series.error.message}
          </p>
        ) : chart ? (
          <Chart data={chart} />
        ) : (
          <div class="chart placeholder" />
        )}
      </section>
      <div class="panels">
        {PANELS.map((p) => (
          <MetricPanel key={p.id} {...p} api={api} siteId={siteId} query={query} onLoaded={onLoaded} />
        ))}
        <EventProperties api={api} siteId={siteId} query={query} onLoaded={onLoaded} />
      </div>
    </div>
  )
}
