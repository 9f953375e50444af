/** The five figures of Umami's site page, each with its change against the comparison period. */
import { change, formatDuration, formatNumber, formatPercent } from '../lib/format.ts'
import type { Stats, StatsWithComparison } from '../lib/website-api.ts'

interface Figure {
  id: string
  label: string
  value: (s: Stats) => number
  format: (n: number) => string
  /** Bounce rate and nothing else: lower is better. */
  lowerIsBetter?: boolean
}

/** Umami's definitions: bounce rate = bounces / visits, visit duration = totaltime / visits. */
export const FIGURES: Figure[] = [
  { id: 'visitors', label: 'Visitors', value: (s) => s.visitors, format: formatNumber },
  { id: 'visits', label: 'Visits', value: (s) => s.visits, format: formatNumber },
  { id: 'pageviews', label: 'Pageviews', value: (s) => s.pageviews, format: formatNumber },
  {
    id: 'bounce-rate',
    label: 'Bounce rate',
    value: (s) => (s.visits ? Math.min(s.bounces, s.visits) / s.visits : 0),
    format: formatPercent,
    lowerIsBetter: true,
  },
  {
    id: 'visit-duration',
    label: 'Visit duration',
    value: (s) => (s.visits ? s.totaltime / s.visits : 0),
    format: formatDuration,
  },
]

export function Figures({ stats }: { stats: StatsWithComparison }) {
  return (
    <dl class="figures" data-testid="figures">
      {FIGURES.map((f) => {
        const now = f.value(stats)
        const prev = f.value(stats.comparison)
        const delta = change(now, prev)
        const good = delta === null || delta === 0 ? '' : delta > 0 !== !!f.lowerIsBetter ? 'up' : 'down'
        return (
          <div class="figure" key={f.id} data-figure={f.id}>
            <dt>{f.label}</dt>
            <dd class="figure-value" data-value={now}>
              {f.format(now)}
            </dd>
            <dd class={`figure-change ${good}`} data-change={delta ?? ''}>
              {delta === null ? (
                <span class="muted">no earlier data</span>
              ) : (
                <>
                  <span aria-hidden="true">{delta > 0 ? '▲' : delta < 0 ? '▼' : '•'} </span>
                  <span class="visually-hidden">{delta >= 0 ? 'up' : 'down'} </span>
                  {formatPercent(Math.abs(delta))}
                  <span class="visually-hidden"> against the previous period ({f.format(prev)})</span>
                </>
              )}
            </dd>
          </div>
        )
      })}
    </dl>
  )
}
