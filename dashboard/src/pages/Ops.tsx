/**
 * Ops (admin): the figures `/metrics` exposes, read every 5 s. Rates are the change of a counter
 * between two reads, so the first read shows totals only.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import type { Api } from '../lib/api.ts'
import { formatNumber } from '../lib/format.ts'
import { parsePrometheus, sumBy, total, type Sample } from '../lib/prometheus.ts'

export const OPS_REFRESH_MS = 5000

interface Reading {
  at: number
  samples: Sample[]
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`
}

function ago(seconds: number): string {
  if (!seconds) return 'never'
  const s = Math.max(0, Math.round(Date.now() / 1000 - seconds))
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`
}

function Table(props: {
  caption: string
  head: string[]
  rows: (string | number)[][]
  id: string
  wide?: boolean
}) {
  return (
    <section class={`panel ops-panel${props.wide ? ' wide' : ''}`} aria-labelledby={`${props.id}-title`}>
      <h2 id={`${props.id}-title`}>{props.caption}</h2>
      {props.rows.length === 0 ? (
        <p class="muted empty">Nothing yet</p>
      ) : (
        <div class="scroll">
          <table class="metric-table ops-table" data-testid={`ops-${props.id}`}>
            <thead>
              <tr>
                {props.head.map((h, i) => (
                  <th scope="col" key={h} class={i ? 'num' : ''}>
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {props.rows.map((r) => (
                <tr key={String(r[0])}>
                  {r.map((c, i) =>
                    i === 0 ? (
                      <th scope="row" key={i}>
                        {c}
                      </th>
                    ) : (
                      <td class="num" key={i}>
                        {typeof c === 'number' ? formatNumber(c) : c}
                      </td>
                    ),
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}

export function OpsPage({ api }: { api: Api }) {
  const [now, setNow] = useState<Reading | null>(null)
  const [error, setError] = useState<string | null>(null)
  const before = useRef<Reading | null>(null)
  useEffect(() => {
    let stop = false
    const read = async () => {
      try {
        const samples = parsePrometheus(await api.text('/metrics'))
        if (stop) return
        setNow((prev) => {
          before.current = prev
          return { at: performance.now(), samples }
        })
        setError(null)
      } catch (err) {
        if (!stop) setError((err as Error).message)
      }
    }
    // A second read soon after the first gives the rates at once; then every OPS_REFRESH_MS.
    void read().then(() => setTimeout(() => !stop && void read(), 1000))
    const id = setInterval(() => document.visibilityState === 'visible' && void read(), OPS_REFRESH_MS)
    return () => {
      stop = true
      clearInterval(id)
    }
  }, [api])

  if (!now) return <p aria-busy="true">{error ?? 'Reading /metrics…'}</p>
  const s = now.samples
  const prev = before.current
  const accepted = sumBy(s, 'floe_events_accepted_total', 'table')
  const rate = (table: string) => {
    if (!prev) return '…'
    const was = sumBy(prev.samples, 'floe_events_accepted_total', 'table').get(table) ?? 0
    const per = ((accepted.get(table) ?? 0) - was) / ((now.at - prev.at) / 1000)
    return `${per.toFixed(1)}/s`
  }
  const tables = [...new Set([...accepted.keys(), ...sumBy(s, 'floe_commits_total', 'table').keys()])].sort()
  const buffered = sumBy(s, 'floe_buffered_rows', 'table')
  const bufferedBytes = sumBy(s, 'floe_buffered_bytes', 'table')
  const commits = sumBy(s, 'floe_commits_total', 'table')
  const lastCommit = sumBy(s, 'floe_last_commit_timestamp_seconds', 'table')
  const rejected = sumBy(s, 'floe_events_rejected_total', 'reason')
  const runs = s.filter((x) => x.name === 'floe_maintenance_runs_total')
  return (
    <div class="ops">
      <h1>Ops</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <dl class="figures" data-testid="ops-figures">
        <div class="figure">
          <dt>WAL size</dt>
          <dd class="figure-value" data-value={total(s, 'floe_wal_bytes')}>
            {bytes(total(s, 'floe_wal_bytes'))}
          </dd>
          <dd class="muted">{formatNumber(total(s, 'floe_wal_segments'))} segments</dd>
        </div>
        <div class="figure">
          <dt>Backlog</dt>
          <dd class="figure-value" data-value={total(s, 'floe_buffered_rows')}>
            {formatNumber(total(s, 'floe_buffered_rows'))}
          </dd>
          <dd class="muted">rows not yet committed</dd>
        </div>
        <div class="figure">
          <dt>Backpressure</dt>
          <dd class="figure-value">{total(s, 'floe_backpressure') ? 'ON' : 'off'}</dd>
        </div>
        <div class="figure">
          <dt>Sites database</dt>
          <dd class="figure-value">{total(s, 'floe_sites_db_up') ? 'up' : 'DOWN'}</dd>
        </div>
      </dl>
      <div class="panels">
        <Table
          wide
          id="tables"
          caption="Ingest and commits per table"
          head={['Table', 'Accepted', 'Rate', 'Backlog rows', 'Backlog', 'Commits', 'Last commit']}
          rows={tables.map((t) => [
            t,
            accepted.get(t) ?? 0,
            rate(t),
            buffered.get(t) ?? 0,
            bytes(bufferedBytes.get(t) ?? 0),
            commits.get(t) ?? 0,
            ago(lastCommit.get(t) ?? 0),
          ])}
        />
        <Table
          id="rejected"
          caption="Events turned away"
          head={['Reason', 'Events']}
          rows={[...rejected.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v])}
        />
        <Table
          id="maintenance"
          caption="Maintenance runs"
          head={['Table · part · outcome', 'Runs']}
          rows={runs.map((r) => [`${r.labels.table} · ${r.labels.part} · ${r.labels.outcome}`, r.value])}
        />
      </div>
    </div>
  )
}
