/**
 * Loads data for a view. The state remembers which inputs it was loaded for, so a view whose
 * inputs just changed reads as loading at once (never shows the old answer as current), and a
 * newer load wins over an older one still in flight.
 */
import { useEffect, useState } from 'preact/hooks'

export interface AsyncState<T> {
  data: T | undefined
  error: Error | undefined
  /** True until the answer for the current inputs is in. */
  loading: boolean
}

export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): AsyncState<T> {
  const key = JSON.stringify(deps)
  const [state, setState] = useState<{ key: string | null; data?: T; error?: Error }>({ key: null })
  useEffect(() => {
    let current = true
    load().then(
      (data) => current && setState({ key, data }),
      (error: Error) => current && setState({ key, error }),
    )
    return () => {
      current = false
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key])
  const loading = state.key !== key
  // While loading, the previous data stays (no flicker); errors are only shown for the current inputs.
  return { data: state.data, error: loading ? undefined : state.error, loading }
}

/** Calls `tick` every `ms` while the page is visible (the live count refreshes by itself). */
export function useInterval(tick: () => void, ms: number, deps: unknown[]): void {
  useEffect(() => {
    const id = setInterval(() => {
      if (document.visibilityState === 'visible') tick()
    }, ms)
    return () => clearInterval(id)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps)
}
