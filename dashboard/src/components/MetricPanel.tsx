/**
 * One of the site page's top tables (pages, sources, campaigns, countries, technology, events):
 * tabs switch the metric type, a row filters the whole page by its value.
 */
import { useEffect, useState } from 'preact/hooks'
import type { Api } from '../lib/api.ts'
import { formatNumber, formatPercent } from '../lib/format.ts'
import { patchQuery } from '../lib/router.ts'
import { useAsync } from '../lib/use-async.ts'
import { filterFor, websiteApi, type MetricRow, type Query } from '../lib/website-api.ts'

export const ROW_LIMIT = 10

const regionNames = (() => {
  try {
    return new Intl.DisplayNames(undefined, { type: 'region' })
  } catch {
    return undefined
  }
})()

function rowLabel(type: string, x: string | null): string {
  if (x === null || x === '') return type === 'referrer' || type === 'domain' ? '(direct)' : '(none)'
  if (type === 'country') {
    try {
      return regionNames?.of(x.toUpperCase()) ?? x
    } catch {
      return x
    }
  }
  return x
}

export interface PanelProps {
  id: string
  title: string
  tabs: [type: string, label: string][]
  api: Api
  siteId: string
  query: Query
  /** Tells the page this panel shows the answer for `queryKey` (the page's ready signal). */
  onLoaded?: (id: string, queryKey: string) => void
}

export function MetricPanel(props: PanelProps) {
  const [type, setType] = useState(props.tabs[0][0])
  const queryKey = JSON.stringify(props.query)
  const state = useAsync<MetricRow[]>(
    () => websiteApi.metrics(props.api, props.siteId, { ...props.query, type, limit: ROW_LIMIT }),
    [type, queryKey, props.siteId],
  )
  useEffect(() => {
    if (!state.loading) props.onLoaded?.(props.id, queryKey)
  }, [state.loading, queryKey])
  const rows = state.data ?? []
  const max = rows.reduce((m, r) => Math.max(m, r.y), 0)
  const sum = rows.reduce((m, r) => m + r.y, 0)
  const filter = filterFor(type)
  const tabLabel = props.tabs.find(([t]) => t === type)?.[1] ?? type
  const onKey = (e: KeyboardEvent) => {
    const i = props.tabs.findIndex(([t]) => t === type)
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0
    if (!step) return
    e.preventDefault()
    const next = props.tabs[(i + step + props.tabs.length) % props.tabs.length][0]
    setType(next)
    ;(document.getElementById(`${props.id}-tab-${next}`) as HTMLElement | null)?.focus()
  }
  return (
    <section class="panel" aria-labelledby={`${props.id}-title`} data-panel={props.id} data-type={type}>
      <header>
        <h2 id={`${props.id}-title`}>{props.title}</h2>
        {props.tabs.length > 1 && (
          <div role="tablist" aria-label={props.title} onKeyDown={onKey}>
            {props.tabs.map(([t, label]) => (
              <button
                type="button"
                role="tab"
                key={t}
                id={`${props.id}-tab-${t}`}
                aria-selected={t === type}
                aria-controls={`${props.id}-table`}
                tabIndex={t === type ? 0 : -1}
                onClick={() => setType(t)}
              >
                {label}
              </button>
            ))}
          </div>
        )}
      </header>
      <div
        id={`${props.id}-table`}
        role={props.tabs.length > 1 ? 'tabpanel' : undefined}
        aria-busy={state.loading}
      >
        {state.error ? (
          <p class="error" role="alert">
            {state.error.message}
          </p>
        ) : rows.length === 0 && !state.loading ? (
          <p class="muted empty">No data</p>
        ) : (
          <table class="metric-table" data-testid={`metric-${props.id}`} data-type={type}>
            <thead>
              <tr>
                <th scope="col">{tabLabel}</th>
                <th scope="col" class="num">
                  {type === 'event'
                    ? 'Events'
                    : type === 'path' || type === 'entry' || type === 'exit'
                      ? 'Views'
                      : 'Visitors'}
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => {
                const text = rowLabel(type, r.x)
                const share = sum ? r.y / sum : 0
                return (
                  <tr key={`${r.x}-${i}`} data-x={r.x ?? ''} data-y={r.y}>
                    <th scope="row" style={{ '--share': `${max ? (r.y / max) * 100 : 0}%` }}>
                      {filter && r.x ? (
                        <button
                          type="button"
                          class="row-filter"
                          title={`Filter by ${text}`}
                          onClick={() => patchQuery({ [filter]: r.x })}
                        >
                          {text}
                        </button>
                      ) : (
                        <span>{text}</span>
                      )}
                    </th>
                    <td class="num">
                      {formatNumber(r.y)} <span class="muted share">{formatPercent(share)}</span>
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        )}
      </div>
    </section>
  )
}
