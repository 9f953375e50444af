/**
 * A real S3-protocol server process that ENFORCES `If-None-Match: *` on PutObject: s3rver (npm)
 * plus a small enforcing layer, clearly ours, because s3rver accepts the header and overwrites
 * anyway (measured here), and no S3 server that enforces it (MinIO, Garage) installs from npm or
 * Debian here. The hadoop catalog's commit on S3 relies on exactly this header, so testing it
 * against plain s3rver would prove nothing.
 *
 * The layer is a Koa middleware put in front of s3rver's own (s3rver is a Koa app): a PUT carrying
 * `If-None-Match: *` takes a per-key lock, answers `412 PreconditionFailed` (AWS's error body) if
 * the key exists, else lets s3rver store the object while still holding the lock — so a check and
 * its write are atomic against every other conditional PUT of that key, like AWS S3's own
 * create-if-absent. Other requests pass through untouched. Path-style URLs only (tests use them).
 */
import { startS3rverProcess, type TestS3 } from './s3.ts'

/** Module code run in s3rver's child process with `s` (the S3rver) in scope, before it listens. */
const ENFORCE_IF_NONE_MATCH = `
const locks = new Map()
const enforceIfNoneMatch = async (ctx, next) => {
  if (ctx.method !== 'PUT' || ctx.get('if-none-match') !== '*') return next()
  const [, b, ...rest] = ctx.path.split('/')
  const key = decodeURIComponent(rest.join('/'))
  const id = b + '/' + key
  const before = locks.get(id) ?? Promise.resolve()
  let release
  const mine = new Promise((r) => (release = r))
  const chained = before.then(() => mine)
  locks.set(id, chained)
  await before
  try {
    if (await ctx.app.store.existsObject(b, key)) {
      ctx.status = 412
      ctx.type = 'application/xml'
      ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code>' +
        '<Message>At least one of the pre-conditions you specified did not hold</Message>' +
        '<Condition>If-None-Match</Condition></Error>'
      return
    }
    await next()
  } finally {
    release()
    if (locks.get(id) === chained) locks.delete(id)
  }
}
s.middleware.unshift(enforceIfNoneMatch)
`

/** Like startTestS3(), but the server enforces `If-None-Match: *` (see the header comment). */
export async function startConditionalTestS3(bucket = 'floe-test'): Promise<TestS3> {
  return startS3rverProcess({ bucket, beforeRun: ENFORCE_IF_NONE_MATCH, dirPrefix: 'floe-s3c-' })
}
