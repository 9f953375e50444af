/**
 * Sign-in with the admin token or a site's read key. The token is checked against the server before
 * it is kept: the admin token must open the sites API, a read key must list its website.
 */
import { useState } from 'preact/hooks'
import { createApi } from '../lib/api.ts'
import { kindOf, type Auth } from '../lib/auth.ts'
import { listSites } from '../lib/sites.ts'

export function SignInPage({ onSignIn, notice }: { onSignIn: (auth: Auth) => void; notice?: string }) {
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  return (
    <div class="sign-in">
      <form
        class="panel"
        aria-labelledby="sign-in-title"
        onSubmit={async (e) => {
          e.preventDefault()
          const token = String(new FormData(e.currentTarget as HTMLFormElement).get('token') ?? '').trim()
          const auth: Auth = { token, kind: kindOf(token) }
          setBusy(true)
          setError(null)
          try {
            await listSites(createApi(auth), auth)
            onSignIn(auth)
          } catch (err) {
            setError((err as Error).message)
          } finally {
            setBusy(false)
          }
        }}
      >
        <h1 id="sign-in-title">Sign in to Floe</h1>
        {notice && <p class="notice">{notice}</p>}
        <label>
          <span>Admin token or site read key</span>
          <input
            name="token"
            type="password"
            required
            autoComplete="current-password"
            aria-describedby="token-help"
            aria-invalid={error ? true : undefined}
          />
        </label>
        <p id="token-help" class="muted">
          The admin token is Floe's <code>ADMIN_TOKEN</code>; a read key (<code>floe_read_…</code>) opens one
          site.
        </p>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p class="error" role="alert" data-testid="sign-in-error">
            {error}
          </p>
        )}
      </form>
    </div>
  )
}
