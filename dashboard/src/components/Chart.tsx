/**
 * Visitors and pageviews by hour or day (uPlot), with the comparison period's pageviews as a
 * dashed line. Screen readers get the same numbers as a table (and so does the browser test).
 */
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { formatNumber } from '../lib/format.ts'
import type { Unit } from '../lib/range.ts'

export interface ChartData {
  unit: Unit
  /** Bucket starts, epoch ms. */
  times: number[]
  visitors: number[]
  pageviews: number[]
  /** The comparison period's pageviews, bucket by bucket (same length), if asked for. */
  previous?: number[]
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim()
}

/** Axis label of a bucket: the hour, or the day. */
function tick(t: number, unit: Unit): string {
  const d = new Date(t)
  return unit === 'hour'
    ? d.toLocaleTimeString(undefined, { hour: 'numeric' })
    : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })
}

/** Full label of a bucket (the table's rows). */
function label(t: number, unit: Unit): string {
  const d = new Date(t)
  return unit === 'hour'
    ? d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: 'numeric' })
    : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric', weekday: 'short' })
}

export function Chart({ data }: { data: ChartData }) {
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const el = box.current
    if (!el) return
    const scheme = matchMedia('(prefers-color-scheme: dark)')
    let plot: uPlot | undefined
    const draw = () => {
      plot?.destroy()
      const [text, grid, primary, secondary, muted] = [
        '--text-muted',
        '--line',
        '--primary',
        '--secondary',
        '--muted',
      ].map(cssVar)
      const bars = uPlot.paths.bars!({ size: [0.6, 64], align: 0 })
      const series: uPlot.Series[] = [
        {},
        { label: 'Pageviews', stroke: primary, fill: `${primary}55`, paths: bars, points: { show: false } },
        {
          label: 'Visitors',
          stroke: secondary,
          fill: `${secondary}cc`,
          paths: bars,
          points: { show: false },
        },
      ]

      if (data.previous) {
        series.push({
          label: 'Previous period',
          stroke: muted,
          dash: [6, 4],
          width: 1.5,
          points: { show: false },
        })
      }
      const values: uPlot.AlignedData = [
        data.times.map((t) => t / 1000),
        data.pageviews,
        data.visitors,
        ...(data.previous ? [data.previous] : []),
      ]
      const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } }
      // One tick per bucket, labelled as many as fit (about 70 px a label).
      const xs = data.times.map((t) => t / 1000)
      const every = Math.max(1, Math.ceil((xs.length * 70) / Math.max(1, el.clientWidth - 60)))
      const half = (data.unit === 'hour' ? 3600 : 86_400) / 2
      plot = new uPlot(
        {
          width: el.clientWidth,
          height: Math.max(180, Math.min(280, Math.round(el.clientWidth / 3))),
          series,
          legend: { show: true, live: false },
          cursor: { drag: { x: false, y: false } },
          scales: {
            x: { time: true, range: () => [xs[0] - half, xs[xs.length - 1] + half] },
            y: { range: (_u, _min, max) => [0, Math.max(4, max * 1.1)] },
          },
          axes: [
            {
              ...axis,
              grid: { show: false },
              splits: () => xs,
              values: (_u, ticks) => ticks.map((t, i) => (i % every === 0 ? tick(t * 1000, data.unit) : '')),
            },
            {
              ...axis,
              size: 48,
              values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? formatNumber(t) : '')),
            },
          ],
        },
        values,
        el,
      )
    }
    draw()
    let width = el.clientWidth
    const resize = new ResizeObserver(() => {
      if (el.clientWidth !== width) {
        width = el.clientWidth
        draw()
      }
    })
    resize.observe(el)
    scheme.addEventListener('change', draw)
    return () => {
      resize.disconnect()
      scheme.removeEventListener('change', draw)
      plot?.destroy()
    }
  }, [data])

  const unitWord = data.unit === 'hour' ? 'hour' : 'day'
  return (
    <figure class="chart" aria-labelledby="chart-title">
      <figcaption id="chart-title" class="visually-hidden">
        Visitors and pageviews by {unitWord}
      </figcaption>
      <div ref={box} class="chart-canvas" aria-hidden="true" />
      <details class="chart-table">
        <summary>Show as table</summary>
        <table data-testid="chart-table">
          <thead>
            <tr>
              <th scope="col">{data.unit === 'hour' ? 'Hour' : 'Day'}</th>
              <th scope="col">Visitors</th>
              <th scope="col">Pageviews</th>
              {data.previous && <th scope="col">Previous pageviews</th>}
            </tr>
          </thead>
          <tbody>
            {data.times.map((t, i) => (
              <tr key={t} data-t={t}>
                <th scope="row">{label(t, data.unit)}</th>
                <td data-value={data.visitors[i]}>{formatNumber(data.visitors[i])}</td>
                <td data-value={data.pageviews[i]}>{formatNumber(data.pageviews[i])}</td>
                {data.previous && <td data-value={data.previous[i]}>{formatNumber(data.previous[i])}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  )
}
