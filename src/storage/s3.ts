/**
 * FileIO for S3 and S3-compatible stores (AWS S3, Garage, MinIO; s3rver in tests), over
 * @aws-sdk/client-s3. URIs are `s3://bucket/key`, exactly as Iceberg metadata stores them.
 *
 * Conditional create uses `If-None-Match: *` (AWS S3 since 2024-08, Garage, MinIO). Stores that
 * ignore the header (s3rver) must be opened with `conditionalWrites: false`; writeIfAbsent then
 * falls back to a HEAD check, which is NOT atomic, and callers that need atomicity (the hadoop
 * catalog) must refuse such a store.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { FileNotFoundError, FloeError, WriteNotAppliedError } from '../errors.ts'
import type { FileIO, ListedFile } from './file-io.ts'

export interface S3FileIOOptions {
  endpoint?: string
  region: string
  forcePathStyle?: boolean
  /** Both or neither; neither = the SDK's default chain (env, profile, IMDS, web identity...). */
  accessKeyId?: string
  secretAccessKey?: string
  /** With temporary keys (STS, SSO): `AWS_SESSION_TOKEN`. */
  sessionToken?: string
  /** Whether the store enforces `If-None-Match: *` (default true: AWS S3, Garage, MinIO). */
  conditionalWrites?: boolean
  /** Use this client instead of building one (tests, shared clients). */
  client?: S3Client
  /** Keys per ListObjectsV2 page (default: the server's, 1000 on AWS). */
  listPageSize?: number
  /**
   * Bytes per part of a streamed upload (`writeStream`), the memory it holds per file; S3 needs at
   * least 5 MiB for every part but the last (`ICEBERG_S3_PART_SIZE_MB`, default 8).
   */
  partSizeBytes?: number
}

export const DEFAULT_PART_SIZE_BYTES = 8 * 1024 * 1024

export interface S3Location {
  bucket: string
  key: string
}

export function parseS3Uri(uri: string): S3Location {
  const m = /^s3a?:\/\/([^/]+)\/?(.*)$/.exec(uri)
  if (!m) throw new FloeError(`not an s3:// URI: ${uri}`)
  return { bucket: m[1], key: m[2] }
}

interface AwsError {
  name?: string
  Code?: string
  $metadata?: { httpStatusCode?: number }
}

function status(err: unknown): number | undefined {
  return (err as AwsError | undefined)?.$metadata?.httpStatusCode
}

function isNotFound(err: unknown): boolean {
  const e = err as AwsError | undefined
  // A missing bucket is a configuration error, not a missing key (exists() must not say false).
  if (e?.name === 'NoSuchBucket' || e?.Code === 'NoSuchBucket') return false
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || status(err) === 404
}

/**
 * 412 PreconditionFailed: the key exists. 409 ConditionalRequestConflict: another conditional
 * write to the key is in flight (AWS); either way this writer did not create the object.
 */
function isConditionFailed(err: unknown): boolean {
  const e = err as AwsError | undefined
  return (
    status(err) === 412 ||
    e?.name === 'PreconditionFailed' ||
    e?.name === 'ConditionalRequestConflict' ||
    (status(err) === 409 && e?.Code === 'ConditionalRequestConflict')
  )
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * The SDK's HTTP handler waits forever by default. A server that accepts and never answers would
 * then stall a table's flushes for good (appends to a table run one at a time). A connection must
 * open within 5 s and go no more than 30 s without a byte either way (so a large upload on a slow
 * link is fine); the resulting TimeoutError is retried by the SDK and then reported (on a commit, as
 * "state unknown"). Shared with the Glue client.
 */
/**
 * How many attempts the AWS SDK made before this error (1 = it answered the first). After a retry,
 * an earlier attempt may have been applied with its answer lost, so an error then proves nothing.
 */
export function sdkAttempts(err: unknown): number {
  return (err as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts ?? 1
}

export const AWS_TIMEOUTS = { connectionTimeout: 5_000, socketTimeout: 30_000 }

export function createS3Client(o: Omit<S3FileIOOptions, 'client' | 'conditionalWrites'>): S3Client {
  if ((o.accessKeyId === undefined) !== (o.secretAccessKey === undefined))
    throw new FloeError('S3 credentials need both an access key id and a secret access key')
  const config: S3ClientConfig = {
    region: o.region,
    endpoint: o.endpoint,
    forcePathStyle: o.forcePathStyle ?? false,
    // The SDK's default CRC32 trailers (aws-chunked uploads) are rejected by several S3-compatible
    // stores; the SigV4 payload hash still protects the body.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: AWS_TIMEOUTS,
  }
  if (o.accessKeyId !== undefined && o.secretAccessKey !== undefined)
    config.credentials = {
      accessKeyId: o.accessKeyId,
      secretAccessKey: o.secretAccessKey,
      ...(o.sessionToken ? { sessionToken: o.sessionToken } : {}),
    }
  return new S3Client(config)
}

export class S3FileIO implements FileIO {
  readonly conditionalWrites: boolean
  readonly client: S3Client
  readonly #pageSize: number | undefined
  readonly #partSize: number

  constructor(options: S3FileIOOptions) {
    this.client = options.client ?? createS3Client(options)
    this.conditionalWrites = options.conditionalWrites ?? true
    this.#pageSize = options.listPageSize
    this.#partSize = options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES
  }

  async read(uri: string): Promise<Uint8Array> {
    const { bucket, key } = parseS3Uri(uri)
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      if (!res.Body) return new Uint8Array(0)
      return await res.Body.transformToByteArray()
    } catch (err) {
      if (isNotFound(err)) throw new FileNotFoundError(uri)
      throw err
    }
  }

  async write(uri: string, bytes: Uint8Array): Promise<void> {
    const { bucket, key } = parseS3Uri(uri)
    // A completed PutObject is durable and atomic: readers see all of the object or none of it.
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }))
  }

  /**
   * Chunks are gathered into parts of at least `partSizeBytes` (a part may exceed it by one chunk,
   * which bounds the memory held). A file
   * that fits in one part is one PutObject; a larger one a multipart upload, which S3 shows only
   * once completed and which is aborted (its parts freed) when anything fails.
   */
  async writeStream(uri: string, chunks: AsyncIterable<Uint8Array>): Promise<number> {
    const { bucket, key } = parseS3Uri(uri)
    let pending: Uint8Array[] = []
    let pendingBytes = 0
    let written = 0
    let uploadId: string | undefined
    const parts: { ETag: string | undefined; PartNumber: number }[] = []
    const take = () => {
      const body = Buffer.concat(pending)
      pending = []
      pendingBytes = 0
      return body
    }
    const uploadPart = async () => {
      const body = take()
      uploadId ??= (await this.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key })))
        .UploadId
      if (!uploadId) throw new FloeError(`S3 gave no upload id for ${uri}`)
      const PartNumber = parts.length + 1
      const res = await this.client.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber, Body: body }),
      )
      parts.push({ ETag: res.ETag, PartNumber })
    }
    try {
      for await (const chunk of chunks) {
        // A full part goes up only once more bytes follow, so a file that ends right after its
        // first part is still one PutObject rather than a one-part multipart upload.
        if (pendingBytes >= this.#partSize) await uploadPart()
        pending.push(chunk)
        pendingBytes += chunk.byteLength
        written += chunk.byteLength
      }
      if (uploadId === undefined) {
        await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: take() }))
        return written
      }
      if (pendingBytes > 0) await uploadPart()
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      )
      return written
    } catch (err) {
      if (uploadId !== undefined)
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
          .catch(() => undefined) // the store expires abandoned uploads (lifecycle rule) otherwise
      throw err
    }
  }

  async writeIfAbsent(uri: string, bytes: Uint8Array): Promise<boolean> {
    const { bucket, key } = parseS3Uri(uri)
    if (!this.conditionalWrites && (await this.exists(uri))) return false
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, IfNoneMatch: '*' }),
      )
      return true
    } catch (err) {
      if (!isConditionFailed(err)) {
        // A 4xx answering the first attempt (access denied, no such bucket): nothing was stored.
        // After an SDK retry, an earlier attempt may have landed: leave that to the caller.
        const s = status(err) ?? 0
        if (s >= 400 && s < 500 && s !== 408 && s !== 429 && sdkAttempts(err) <= 1)
          throw new WriteNotAppliedError(uri, err)
        throw err
      }
      // The SDK retries on a lost response; the retry of our own successful PUT then fails the
      // condition. The bytes (unique ids and timestamps inside) tell whether the object is ours.
      const existing = await this.read(uri).catch(() => undefined)
      return existing !== undefined && sameBytes(existing, bytes)
    }
  }

  async exists(uri: string): Promise<boolean> {
    const { bucket, key } = parseS3Uri(uri)
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }

  /** S3 DeleteObject succeeds on a missing key. */
  async delete(uri: string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri)
    await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listWithTimes(prefix)).map((f) => f.uri)
  }

  async listWithTimes(prefix: string): Promise<ListedFile[]> {
    const { bucket, key } = parseS3Uri(prefix)
    const out: ListedFile[] = []
    let token: string | undefined
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: key,
          ContinuationToken: token,
          MaxKeys: this.#pageSize,
        }),
      )
      for (const o of res.Contents ?? [])
        if (o.Key !== undefined)
          out.push({ uri: `s3://${bucket}/${o.Key}`, lastModifiedMs: o.LastModified?.getTime() ?? 0 })
      if (res.IsTruncated && !res.NextContinuationToken)
        throw new FloeError(`S3 listing of ${prefix} is truncated but has no continuation token`)
      token = res.IsTruncated ? res.NextContinuationToken : undefined
    } while (token !== undefined)
    return out.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0))
  }

  async close(): Promise<void> {
    this.client.destroy()
  }
}
