/**
 * A real S3-protocol server process for tests: s3rver (npm), serving the S3 REST API from a temp
 * folder on a free loopback port, in a child process so it can be stopped and restarted (outage
 * tests). Note: s3rver does not enforce `If-None-Match: *`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import net from 'node:net'
import { S3FileIO, type S3FileIOOptions } from '../../src/storage/s3.ts'

export interface TestS3 {
  endpoint: string
  port: number
  bucket: string
  dir: string
  accessKeyId: string
  secretAccessKey: string
  stop(): Promise<void>
  /** Start again on the same port and folder (after stop()). */
  start(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

/**
 * The child's program: an s3rver `s` on the given port/folder with one bucket. `beforeRun` is module
 * code run with `s` in scope before it listens (e.g. s3-conditional.ts puts a middleware in front).
 */
function serverScript(beforeRun: string): string {
  return `
import S3rver from 's3rver'
const [port, dir, bucket] = process.argv.slice(1)
const s = new S3rver({ port: Number(port), address: '127.0.0.1', directory: dir, silent: true,
  configureBuckets: [{ name: bucket }] })
${beforeRun}
await s.run()
process.stdout.write('ready\\n')
`
}

export async function startTestS3(bucket = 'floe-test'): Promise<TestS3> {
  return startS3rverProcess({ bucket })
}

/**
 * Spawn s3rver in a child process (startTestS3() and s3-conditional.ts share this). `beforeRun`: see
 * serverScript(); `dirPrefix` names the temp folder.
 */
export async function startS3rverProcess(options: {
  bucket: string
  beforeRun?: string
  dirPrefix?: string
}): Promise<TestS3> {
  const { bucket, beforeRun = '', dirPrefix = 'floe-s3-' } = options
  const script = serverScript(beforeRun)
  const dir = mkdtempSync(path.join(tmpdir(), dirPrefix))
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    // --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with DES, which
    // OpenSSL 3 (Node >= 17) only offers from the legacy provider (else any truncated listing is a 500).
    const args = ['--openssl-legacy-provider', '--input-type=module', '-e', script]
    child = spawn(process.execPath, [...args, String(port), dir, bucket], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: process.cwd(),
    })
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve())
      child!.on('exit', (code) => reject(new Error(`s3rver exited with ${code}`)))
    })
  }
  await start()
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket,
    dir,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    start,
    async stop() {
      if (!child || child.exitCode !== null) return
      const c = child
      await new Promise<void>((resolve) => {
        c.on('exit', () => resolve())
        c.kill('SIGKILL')
      })
    },
  }
}

/**
 * Floe's S3 FileIO on a test server: path-style, the server's keys, and conditional writes off
 * (s3rver accepts `If-None-Match: *` but does not enforce it; the JDBC catalog does not need it).
 */
export function testS3FileIO(s3: TestS3, options: Partial<S3FileIOOptions> = {}): S3FileIO {
  return new S3FileIO({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    conditionalWrites: false,
    ...options,
  })
}
