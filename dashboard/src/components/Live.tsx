/** "Visitors in the last 5 minutes", refreshed every 15 s while the tab is visible. */
import { useRef, useState } from 'preact/hooks'
import type { Api } from '../lib/api.ts'
import { formatNumber } from '../lib/format.ts'
import { useAsync, useInterval } from '../lib/use-async.ts'
import { websiteApi } from '../lib/website-api.ts'

export const LIVE_REFRESH_MS = 15_000

export function Live({ api, siteId }: { api: Api; siteId: string }) {
  const [tick, setTick] = useState(0)
  useInterval(() => setTick((n) => n + 1), LIVE_REFRESH_MS, [])
  const state = useAsync(() => websiteApi.active(api, siteId), [siteId, tick])
  // The last answer stays on screen while the next one loads.
  const last = useRef<number | undefined>(undefined)
  if (state.data) last.current = state.data.visitors
  const n = last.current
  return (
    <p class="live" data-testid="live" data-value={n ?? ''} aria-live="polite">
      <span class="dot" aria-hidden="true" />
      {n === undefined
        ? state.error
          ? 'live count unavailable'
          : '…'
        : `${formatNumber(n)} ${n === 1 ? 'visitor' : 'visitors'}`}
      <span class="muted"> in the last 5 minutes</span>
    </p>
  )
}
