/**
 * Floe's dashboard: sign-in, sites, a site's page and Ops, on Umami's website API and /metrics.
 * One small app (Preact), routed by the URL under /dashboard/.
 */
import { render } from 'preact'
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import './styles.css'
import { createApi } from './lib/api.ts'
import { loadAuth, saveAuth, type Auth } from './lib/auth.ts'
import { BASE, navigate, onLinkClick, parseRoute, useLocation } from './lib/router.ts'
import { listSites } from './lib/sites.ts'
import { useAsync } from './lib/use-async.ts'
import { openShare } from './lib/website-api.ts'
import { OpsPage } from './pages/Ops.tsx'
import { SignInPage } from './pages/SignIn.tsx'
import { SitePage } from './pages/Site.tsx'
import { SitesPage } from './pages/Sites.tsx'

/**
 * A share link, `/dashboard/share#<share id>` (the fragment never reaches a server or its logs):
 * Umami's share flow turns the id into the site and a share token.
 */
function ShareLanding({ onSignIn }: { onSignIn: (a: Auth) => void }) {
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    const shareId = decodeURIComponent(location.hash.slice(1))
    if (!shareId) return setError('This share link is incomplete.')
    openShare(shareId).then(
      ({ websiteId, token }) => {
        onSignIn({ token, kind: 'share' })
        navigate(`${BASE}sites/${encodeURIComponent(websiteId)}?range=24h`, { replace: true })
      },
      (err: Error) => setError(`This share link does not work: ${err.message}`),
    )
  }, [])
  return error ? (
    <p class="error" role="alert" data-testid="share-error">
      {error}
    </p>
  ) : (
    <p aria-busy="true">Opening the shared site…</p>
  )
}

function App() {
  const loc = useLocation()
  const route = parseRoute(loc.pathname)
  const [auth, setAuth] = useState<Auth | null>(() => (route.page === 'share' ? null : loadAuth()))
  const api = useMemo(() => (auth ? createApi(auth) : null), [auth])
  const signIn = (a: Auth) => {
    saveAuth(a)
    setAuth(a)
    // The form is gone: reading starts again at the top of the view it opened.
    requestAnimationFrame(() => document.getElementById('main')?.focus())
  }
  const signOut = () => {
    saveAuth(null)
    setAuth(null)
    navigate(BASE)
  }
  const sites = useAsync(async () => (api && auth ? listSites(api, auth) : []), [auth?.token])

  const siteName = route.page === 'site' ? sites.data?.find((s) => s.id === route.siteId)?.name : undefined
  useEffect(() => {
    document.title = `${route.page === 'site' ? (siteName ?? 'Site') : route.page === 'ops' ? 'Ops' : 'Sites'} · Floe`
  }, [route.page, siteName])
  // After a navigation (not on the first load), focus moves to the page, so screen readers start
  // reading the new view from its top.
  const first = useRef(true)
  useEffect(() => {
    if (first.current) first.current = false
    else document.getElementById('main')?.focus()
  }, [loc.pathname])

  let page
  if (route.page === 'share' && !auth) page = <ShareLanding onSignIn={signIn} />
  else if (!auth || !api) page = <SignInPage onSignIn={signIn} />
  else if (route.page === 'site')
    page = <SitePage api={api} siteId={route.siteId} search={loc.search} siteName={siteName} />
  else if (route.page === 'ops' && auth.kind === 'admin') page = <OpsPage api={api} />
  else if (route.page === 'home' || route.page === 'share') {
    // A share link shows its one site only.
    if (auth.kind === 'share' && sites.data?.[0])
      navigate(`${BASE}sites/${sites.data[0].id}?range=24h`, { replace: true })
    page = <SitesPage api={api} auth={auth} />
  } else
    page = (
      <p>
        Nothing here.{' '}
        <a href={BASE} onClick={onLinkClick}>
          Back to the sites
        </a>
      </p>
    )

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={BASE} onClick={onLinkClick}>
          Floe
        </a>
        {auth && (
          <nav aria-label="Main">
            {auth.kind !== 'share' && (
              <a href={BASE} onClick={onLinkClick} aria-current={route.page === 'home' ? 'page' : undefined}>
                Sites
              </a>
            )}
            {auth.kind === 'admin' && (
              <a
                href={`${BASE}ops`}
                onClick={onLinkClick}
                aria-current={route.page === 'ops' ? 'page' : undefined}
              >
                Ops
              </a>
            )}
            <button type="button" class="link" onClick={signOut}>
              {auth.kind === 'share' ? 'Leave' : 'Sign out'}
            </button>
          </nav>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  )
}

render(<App />, document.getElementById('app')!)
