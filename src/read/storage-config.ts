/**
 * The `config` map of a LoadTableResult: FileIO settings the reading engine needs to open the
 * table's files (spec: LoadTableResult "AWS Configurations"; PyIceberg reads `s3.*` and
 * `client.region`, Java S3FileIO the same keys).
 *
 * Floe's own S3 key is never handed out: it can write and delete the warehouse. Readers get keys
 * only when the operator configured a separate (ideally read-only) pair for them.
 */
import type { S3Config } from '../config.ts'

export interface ReaderStorageOptions {
  /** Floe's S3 settings (undefined for a local-folder warehouse). */
  s3?: S3Config
  /** Endpoint as readers reach it, when it differs from Floe's (e.g. Docker service name vs host). */
  endpoint?: string
  /** Keys for readers (`ICEBERG_REST_S3_ACCESS_KEY_ID` / `_SECRET_ACCESS_KEY`). */
  accessKeyId?: string
  secretAccessKey?: string
}

export function readerStorageConfig(opts: ReaderStorageOptions): Record<string, string> {
  const { s3 } = opts
  if (s3 === undefined) return {}
  const config: Record<string, string> = {
    'client.region': s3.region,
    's3.region': s3.region,
    's3.path-style-access': String(s3.forcePathStyle),
  }
  const endpoint = opts.endpoint ?? s3.endpoint
  if (endpoint !== undefined) config['s3.endpoint'] = endpoint
  if (opts.accessKeyId !== undefined && opts.secretAccessKey !== undefined) {
    config['s3.access-key-id'] = opts.accessKeyId
    config['s3.secret-access-key'] = opts.secretAccessKey
  }
  return config
}
