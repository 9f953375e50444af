/**
 * The one file-I/O boundary of Floe. The Iceberg write path, the catalogs that keep metadata files
 * (hadoop) and the read side all go through it, so a local folder and S3 behave the same.
 *
 * Paths are absolute URIs exactly as they appear in Iceberg metadata: `file:///abs/path` for a
 * local folder, `s3://bucket/key` for S3. Other engines read these strings, so they must be real
 * locations, never paths relative to Floe's working directory.
 */
export interface FileIO {
  /** True when `writeIfAbsent` is enforced by the store (local disk; S3/Garage with If-None-Match). */
  readonly conditionalWrites: boolean
  read(uri: string): Promise<Uint8Array>
  /** Create or replace. Must be durable once the promise resolves (fsync on local disks). */
  write(uri: string, bytes: Uint8Array): Promise<void>
  /**
   * Create only if nothing exists at `uri`; resolves `false` (and writes nothing) if something does.
   * Local folders use O_EXCL (link of a temp file), S3 uses `If-None-Match: *`.
   * See `conditionalWrites` for whether the store really enforces this.
   */
  writeIfAbsent(uri: string, bytes: Uint8Array): Promise<boolean>
  /**
   * Create or replace from a stream of chunks, holding at most about one upload part in memory
   * (compaction writes files near the target file size, far larger than it should buffer).
   * Readers see the whole file or none of it: a local temp file renamed into place; on S3 one
   * PutObject when everything fits in one part, else a multipart upload that is aborted on
   * failure. Durable once the promise resolves; resolves the number of bytes written.
   */
  writeStream(uri: string, chunks: AsyncIterable<Uint8Array>): Promise<number>
  exists(uri: string): Promise<boolean>
  /** Deleting a missing file is not an error. */
  delete(uri: string): Promise<void>
  /** URIs of all files under a prefix (recursive). */
  list(prefix: string): Promise<string[]>
  /**
   * Like `list`, with each file's last-modified time (ms since epoch). Orphan removal only deletes
   * files older than its safety window, so it needs the store's own clock for each file.
   */
  listWithTimes(prefix: string): Promise<ListedFile[]>
}

export interface ListedFile {
  uri: string
  /** Last modification as the store reports it (local mtime, S3 LastModified), ms since epoch. */
  lastModifiedMs: number
}
