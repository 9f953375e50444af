/** Range (today … 90 days, custom) and comparison, kept in the URL. */
import { patchQuery } from '../lib/router.ts'
import { RANGES, isoDay, type Compare, type RangeKey } from '../lib/range.ts'

/** One end of a custom range, kept in the URL parameter of the same name. */
function DayField(props: { name: 'from' | 'to'; label: string; value?: string; max: string }) {
  return (
    <div class="field">
      <label for={`range-${props.name}`}>{props.label}</label>
      <input
        id={`range-${props.name}`}
        type="date"
        name={props.name}
        max={props.max}
        value={props.value}
        onChange={(e) => patchQuery({ [props.name]: (e.currentTarget as HTMLInputElement).value })}
      />
    </div>
  )
}

export function RangePicker(props: { range: RangeKey; from?: string; to?: string; compare: Compare }) {
  const today = isoDay(new Date())
  return (
    <form class="range" onSubmit={(e) => e.preventDefault()} aria-label="Date range">
      <div class="field">
        <label for="range-select">Range</label>
        <select
          id="range-select"
          name="range"
          value={props.range}
          onChange={(e) => {
            const range = (e.currentTarget as HTMLSelectElement).value
            patchQuery(
              range === 'custom'
                ? { range, from: props.from ?? today, to: props.to ?? today }
                : { range, from: null, to: null },
            )
          }}
        >
          {RANGES.map(([key, label]) => (
            <option key={key} value={key}>
              {label}
            </option>
          ))}
        </select>
      </div>
      {props.range === 'custom' && (
        <>
          <DayField name="from" label="From" value={props.from} max={today} />
          <DayField name="to" label="To" value={props.to} max={today} />
        </>
      )}
      <div class="field">
        <label for="range-compare">Compare with</label>
        <select
          id="range-compare"
          name="compare"
          value={props.compare}
          onChange={(e) => patchQuery({ compare: (e.currentTarget as HTMLSelectElement).value })}
        >
          <option value="prev">Previous period</option>
          <option value="yoy">Same period last year</option>
        </select>
      </div>
    </form>
  )
}
