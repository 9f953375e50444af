/** Every site the token may read, with visitors today and the last 7 days' trend; the admin can add one. */
import { useState } from 'preact/hooks'
import type { Api } from '../lib/api.ts'
import type { Auth } from '../lib/auth.ts'
import { Sparkline } from '../components/Sparkline.tsx'
import { formatNumber } from '../lib/format.ts'
import { BASE, onLinkClick } from '../lib/router.ts'
import { bucketStarts, resolveRange, timezone } from '../lib/range.ts'
import { createSite, listSites, type SiteSummary } from '../lib/sites.ts'
import { useAsync } from '../lib/use-async.ts'
import { websiteApi } from '../lib/website-api.ts'
import { chartData } from './Site.tsx'

function SiteCard({ api, site, fresh }: { api: Api; site: SiteSummary; fresh?: boolean }) {
  const state = useAsync(async () => {
    const today = resolveRange('today')
    const week = resolveRange('7d')
    const [stats, series] = await Promise.all([
      websiteApi.stats(api, site.id, {
        startAt: today.startAt,
        endAt: today.endAt,
        unit: 'hour',
        timezone: timezone(),
      }),
      websiteApi.pageviews(api, site.id, {
        startAt: week.startAt,
        endAt: week.endAt,
        unit: 'day',
        timezone: timezone(),
      }),
    ])
    return {
      visitors: stats.visitors,
      trend: chartData(series, week, 'prev').visitors,
      days: bucketStarts(week).length,
    }
  }, [site.id])
  return (
    <li class="site-card" data-site={site.id}>
      <h2>
        <a href={`${BASE}sites/${encodeURIComponent(site.id)}?range=24h`} onClick={onLinkClick}>
          {site.name}
        </a>
      </h2>
      <p class="muted">{site.domains.join(', ') || '\u00a0'}</p>
      {state.error ? (
        <p class="error">{state.error.message}</p>
      ) : (
        <div class="site-card-figures">
          <p>
            <span class="big" data-testid="visitors-today" data-value={state.data?.visitors ?? ''}>
              {state.data ? formatNumber(state.data.visitors) : '…'}
            </span>{' '}
            <span class="muted">visitors today</span>
          </p>
          {state.data && (
            <Sparkline
              values={state.data.trend}
              label={`Visitors per day, last ${state.data.days} days: ${state.data.trend.join(', ')}`}
            />
          )}
        </div>
      )}
      {site.script && <Snippet script={site.script} open={fresh} />}
    </li>
  )
}

function Snippet({ script, open }: { script: string; open?: boolean }) {
  const [copied, setCopied] = useState(false)
  return (
    <details class="snippet" open={open}>
      <summary>Tracker snippet</summary>
      <pre>
        <code>{script}</code>
      </pre>
      <button
        type="button"
        onClick={async () => {
          await navigator.clipboard.writeText(script)
          setCopied(true)
        }}
      >
        {copied ? 'Copied' : 'Copy snippet'}
      </button>
      <span class="visually-hidden" aria-live="polite">
        {copied ? 'Snippet copied to the clipboard' : ''}
      </span>
    </details>
  )
}

function CreateSite({ api, onCreated }: { api: Api; onCreated: (s: SiteSummary) => void }) {
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  return (
    <form
      class="create-site panel"
      aria-labelledby="create-title"
      onSubmit={async (e) => {
        e.preventDefault()
        const form = e.currentTarget as HTMLFormElement
        const data = new FormData(form)
        const domains = String(data.get('domains') ?? '')
          .split(/[\s,]+/)
          .filter(Boolean)
        setBusy(true)
        setError(null)
        try {
          onCreated(await createSite(api, String(data.get('name') ?? '').trim(), domains))
          form.reset()
        } catch (err) {
          setError((err as Error).message)
        } finally {
          setBusy(false)
        }
      }}
    >
      <h2 id="create-title">Add a site</h2>
      <label>
        <span>Name</span>
        <input name="name" required maxLength={100} autoComplete="off" />
      </label>
      <label>
        <span>Domains (comma separated)</span>
        <input name="domains" required placeholder="example.com, www.example.com" autoComplete="off" />
      </label>
      <button type="submit" disabled={busy}>
        Create site
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  )
}

export function SitesPage({ api, auth }: { api: Api; auth: Auth }) {
  const [created, setCreated] = useState<SiteSummary[]>([])
  const state = useAsync(() => listSites(api, auth), [auth.token])
  const sites = [...(state.data ?? []), ...created.filter((c) => !state.data?.some((s) => s.id === c.id))]
  return (
    <div class="sites">
      <h1>Sites</h1>
      {state.error && (
        <p class="error" role="alert">
          {state.error.message}
        </p>
      )}
      {created.length > 0 && (
        <p class="notice" role="status">
          Site “{created[created.length - 1].name}” created: paste its tracker snippet into your pages.
        </p>
      )}
      <ul class="site-list" aria-busy={state.loading}>
        {sites.map((s) => (
          <SiteCard key={s.id} api={api} site={s} fresh={created.some((c) => c.id === s.id)} />
        ))}
      </ul>
      {!state.loading && sites.length === 0 && <p class="muted">No sites yet.</p>}
      {auth.kind === 'admin' && <CreateSite api={api} onCreated={(s) => setCreated((c) => [...c, s])} />}
    </div>
  )
}
