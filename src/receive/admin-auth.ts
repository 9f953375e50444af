/**
 * The one admin check of the HTTP API (`/api/sites`, `/api/admin/flush`): `Authorization: Bearer
 * <ADMIN_TOKEN>`. No token → 401; a wrong token, or no ADMIN_TOKEN configured → 403. Errors go
 * through the receiver's error handler, so every admin route answers in the same shape.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { AuthError } from '../errors.ts'

const digest = (s: string) => createHash('sha256').update(s).digest()

export function checkAdmin(req: Pick<FastifyRequest, 'headers'>, adminToken: string | undefined): void {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')
  if (!m) throw new AuthError(401, 'admin API: send Authorization: Bearer <ADMIN_TOKEN>')
  if (adminToken === undefined) throw new AuthError(403, 'admin API is disabled: ADMIN_TOKEN is not set')
  // Compare digests so the comparison is constant-time regardless of token length.
  if (!timingSafeEqual(digest(m[1].trim()), digest(adminToken)))
    throw new AuthError(403, 'admin API: wrong token')
}

/** True when the request carries the admin token (for optional details; never throws). */
export function isAdmin(req: Pick<FastifyRequest, 'headers'>, adminToken: string | undefined): boolean {
  try {
    checkAdmin(req, adminToken)
    return true
  } catch {
    return false
  }
}
