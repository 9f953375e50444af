/**
 * The S3-protocol test server (s3rver, test/support/s3.ts) made to understand the AWS SDK for
 * Java v2's `aws-chunked` uploads, which Trino's native S3 file system sends over plain HTTP
 * (`x-amz-content-sha256: STREAMING-…`). s3rver accepts such a PUT but stores the chunk framing
 * (`3ec;chunk-signature=…\r\n<bytes>\r\n…`) as the object, so Trino could not read back the files
 * it wrote (optimize) or the view metadata it created. AWS S3 removes that framing; this layer,
 * a Koa middleware in front of s3rver's own (like test/support/s3-conditional.ts), does the same:
 * it decodes the body before s3rver stores it (headers untouched, so s3rver's signature check
 * still sees what was signed) and drops the `aws-chunked` content encoding from answers.
 */
import { startS3rverProcess, type TestS3 } from '../../support/s3.ts'

const DECODE_AWS_CHUNKED = `
import { Readable } from 'node:stream'
const decodeAwsChunked = async (ctx, next) => {
  if (ctx.method === 'PUT' && /^STREAMING-/.test(ctx.get('x-amz-content-sha256'))) {
    const parts = []
    for await (const c of ctx.req) parts.push(c)
    const raw = Buffer.concat(parts)
    const out = []
    let at = 0
    for (;;) {
      const eol = raw.indexOf('\\r\\n', at)
      if (eol < 0) throw new Error('aws-chunked: no chunk header')
      const size = parseInt(raw.subarray(at, eol).toString('latin1').split(';')[0], 16)
      if (!(size > 0)) break
      out.push(raw.subarray(eol + 2, eol + 2 + size))
      at = eol + 2 + size + 2
    }
    const body = Readable.from([Buffer.concat(out)])
    body.headers = ctx.req.headers
    ctx.req = body
  }
  await next()
  const enc = ctx.response.get('content-encoding')
  if (/aws-chunked/.test(enc)) {
    const rest = enc.split(',').map((e) => e.trim()).filter((e) => e && e !== 'aws-chunked')
    if (rest.length > 0) ctx.set('content-encoding', rest.join(', '))
    else ctx.remove('content-encoding')
  }
}
s.middleware.unshift(decodeAwsChunked)
`

/** Like startTestS3(), but `aws-chunked` uploads are stored as their decoded bytes. */
export async function startChunkedTestS3(bucket = 'floe-test'): Promise<TestS3> {
  return startS3rverProcess({ bucket, beforeRun: DECODE_AWS_CHUNKED, dirPrefix: 'floe-s3t-' })
}
