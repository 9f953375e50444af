/** The filters in force (from the URL); each can be removed, or all at once. */
import { patchQuery } from '../lib/router.ts'
import { FILTER_LABELS, type FilterKey } from '../lib/website-api.ts'

export function FilterBar({ filters }: { filters: [FilterKey, string][] }) {
  if (filters.length === 0) return null
  return (
    <div class="filters" role="region" aria-label="Filters">
      <ul>
        {filters.map(([key, value]) => (
          <li key={key} class="chip" data-filter={key}>
            <span>
              {FILTER_LABELS[key]}: <strong>{value}</strong>
            </span>
            <button
              type="button"
              aria-label={`Remove filter ${FILTER_LABELS[key]} ${value}`}
              onClick={() => patchQuery({ [key]: null })}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
      <button
        type="button"
        class="link"
        onClick={() => patchQuery(Object.fromEntries(filters.map(([k]) => [k, null])))}
      >
        Clear filters
      </button>
    </div>
  )
}
