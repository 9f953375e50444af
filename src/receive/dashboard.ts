/**
 * Serves the dashboard (built from `dashboard/` into the committed `dashboard/dist`) at
 * `/dashboard/`:
 *  - hashed assets (`/dashboard/assets/index-<hash>.js`) are cached for a year, immutable;
 *  - every other path under `/dashboard/` is the app's `index.html` (client-side routes), always
 *    revalidated (`no-cache`, with an ETag), so a new build is picked up at once;
 *  - a strict Content-Security-Policy: scripts, styles and requests from this origin only, no
 *    inline script, no framing.
 * The dozen files are read once at start and kept in memory with their gzip form (docs/decisions.md).
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

export const DASHBOARD_DIST = path.resolve(import.meta.dirname, '../../dashboard/dist')

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
}

interface StaticFile {
  body: Buffer
  gzip: Buffer | null
  type: string
  etag: string
}

function load(file: string): StaticFile {
  const body = readFileSync(file)
  const type = TYPES[path.extname(file)] ?? 'application/octet-stream'
  const gz = type.startsWith('image/png') || type.startsWith('font/') ? null : gzipSync(body, { level: 9 })
  return {
    body,
    gzip: gz && gz.length < body.length ? gz : null,
    type,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
  }
}

/** Reads a build folder: `index.html` and every file under `assets/`. */
export function loadDashboard(dist = DASHBOARD_DIST): { index: StaticFile; assets: Map<string, StaticFile> } {
  const indexFile = path.join(dist, 'index.html')
  if (!existsSync(indexFile))
    throw new Error(`the dashboard build is missing (${indexFile}): run \`npm run build:dashboard\``)
  const assets = new Map<string, StaticFile>()
  const dir = path.join(dist, 'assets')
  if (existsSync(dir)) for (const name of readdirSync(dir)) assets.set(name, load(path.join(dir, name)))
  return { index: load(indexFile), assets }
}

function send(req: FastifyRequest, reply: FastifyReply, file: StaticFile, cacheControl: string) {
  reply
    .header('content-type', file.type)
    .header('cache-control', cacheControl)
    .header('etag', file.etag)
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff')
  if (req.headers['if-none-match'] === file.etag) return reply.code(304).send()
  if (file.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    return reply.header('content-encoding', 'gzip').send(file.gzip)
  }
  return reply.send(file.body)
}

export async function dashboardPlugin(app: FastifyInstance, opts: { dist?: string } = {}): Promise<void> {
  const { index, assets } = loadDashboard(opts.dist)
  const page = (req: FastifyRequest, reply: FastifyReply) =>
    send(
      req,
      reply
        .header('content-security-policy', DASHBOARD_CSP)
        .header('referrer-policy', 'no-referrer')
        .header('x-frame-options', 'DENY')
        .header('cross-origin-opener-policy', 'same-origin'),
      index,
      'no-cache',
    )

  // "Where do I see my traffic?": the root and `/dashboard` lead to the app.
  app.get('/', (_req, reply) => reply.redirect('/dashboard/'))
  app.get('/dashboard', (_req, reply) => reply.redirect('/dashboard/'))
  app.get(
    '/dashboard/assets/:name',
    { schema: { params: { type: 'object', properties: { name: { type: 'string', maxLength: 200 } } } } },
    (req, reply) => {
      const file = assets.get((req.params as { name: string }).name)
      if (!file)
        return reply
          .code(404)
          .send({ error: { message: `${req.url.split('?')[0]} not found`, code: 'not-found', status: 404 } })
      return send(req, reply, file, 'public, max-age=31536000, immutable')
    },
  )
  app.get('/dashboard/', page)
  app.get('/dashboard/*', page)
}
