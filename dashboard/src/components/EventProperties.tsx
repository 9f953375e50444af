/** Custom events' properties (event-data), and the values of the one opened. */
import { useEffect, useState } from 'preact/hooks'
import type { Api } from '../lib/api.ts'
import { formatNumber } from '../lib/format.ts'
import { useAsync } from '../lib/use-async.ts'
import { websiteApi, type EventProperty, type PropertyValue, type Query } from '../lib/website-api.ts'

function Values(props: { api: Api; siteId: string; query: Query; p: EventProperty }) {
  const state = useAsync<PropertyValue[]>(
    () =>
      websiteApi.propertyValues(props.api, props.siteId, {
        ...props.query,
        eventName: props.p.eventName,
        propertyName: props.p.propertyName,
      }),
    [props.siteId, JSON.stringify(props.query), props.p.eventName, props.p.propertyName],
  )
  if (state.error) return <p class="error">{state.error.message}</p>
  return (
    <table class="metric-table values" data-testid="property-values" aria-busy={state.loading}>
      <thead>
        <tr>
          <th scope="col">Value</th>
          <th scope="col" class="num">
            Count
          </th>
        </tr>
      </thead>
      <tbody>
        {(state.data ?? []).map((v) => (
          <tr key={v.value} data-x={v.value} data-y={v.total}>
            <th scope="row">{v.value}</th>
            <td class="num">{formatNumber(v.total)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export function EventProperties(props: {
  api: Api
  siteId: string
  query: Query
  onLoaded?: (id: string, queryKey: string) => void
}) {
  const [open, setOpen] = useState<string | null>(null)
  const queryKey = JSON.stringify(props.query)
  const state = useAsync<EventProperty[]>(
    () => websiteApi.eventProperties(props.api, props.siteId, props.query),
    [props.siteId, queryKey],
  )
  useEffect(() => {
    if (!state.loading) props.onLoaded?.('properties', queryKey)
  }, [state.loading, queryKey])
  const rows = state.data ?? []
  return (
    <section class="panel" aria-labelledby="properties-title" data-panel="properties">
      <header>
        <h2 id="properties-title">Event properties</h2>
      </header>
      <div aria-busy={state.loading}>
        {state.error ? (
          <p class="error" role="alert">
            {state.error.message}
          </p>
        ) : rows.length === 0 && !state.loading ? (
          <p class="muted empty">No event properties</p>
        ) : (
          <table class="metric-table" data-testid="metric-properties">
            <thead>
              <tr>
                <th scope="col">Event · property</th>
                <th scope="col" class="num">
                  Count
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((p) => {
                const key = `${p.eventName}\u0000${p.propertyName}`
                const expanded = open === key
                return [
                  <tr key={key} data-x={`${p.eventName}.${p.propertyName}`} data-y={p.total}>
                    <th scope="row">
                      <button
                        type="button"
                        class="row-filter"
                        aria-expanded={expanded}
                        onClick={() => setOpen(expanded ? null : key)}
                      >
                        {p.eventName} · {p.propertyName}
                      </button>
                    </th>
                    <td class="num">{formatNumber(p.total)}</td>
                  </tr>,
                  expanded && (
                    <tr key={`${key}-values`} class="values-row">
                      <td colSpan={2}>
                        <Values api={props.api} siteId={props.siteId} query={props.query} p={p} />
                      </td>
                    </tr>
                  ),
                ]
              })}
            </tbody>
          </table>
        )}
      </div>
    </section>
  )
}
