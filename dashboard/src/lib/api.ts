/**
 * The dashboard's only way to the server: GET/POST JSON with the signed-in token. Errors keep the
 * server's message (Floe's one error shape, `{error: {message, code, status}}`).
 */
import { authHeaders, type Auth } from './auth.ts'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export type Params = Record<string, string | number | undefined>

export function withParams(path: string, params: Params = {}): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `${path}?${s}` : path
}

async function request<T>(auth: Auth, method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(auth) }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
  })
  const text = await res.text()
  let json: unknown = undefined
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    // not JSON: reported below by status
  }
  if (!res.ok) {
    const message =
      (json as { error?: { message?: string } } | undefined)?.error?.message ??
      `${res.status} ${res.statusText}`
    throw new ApiError(res.status, message)
  }
  return json as T
}

export interface Api {
  get<T>(path: string, params?: Params): Promise<T>
  post<T>(path: string, body: unknown): Promise<T>
  /** Raw text (the Prometheus `/metrics` page). */
  text(path: string): Promise<string>
}

export function createApi(auth: Auth): Api {
  return {
    get: (path, params) => request(auth, 'GET', withParams(path, params)),
    post: (path, body) => request(auth, 'POST', path, body),
    async text(path) {
      const res = await fetch(path, { headers: authHeaders(auth), credentials: 'omit' })
      if (!res.ok) throw new ApiError(res.status, `${res.status} ${res.statusText}`)
      return res.text()
    },
  }
}
