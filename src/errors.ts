/**
 * Typed errors, each telling the caller what to do. HTTP mapping lives once in `src/receive/`.
 */

export class FloeError extends Error {
  override name = 'FloeError'
}

/** Bad input from a client: answer 400 and name the field. */
export class ValidationError extends FloeError {
  override name = 'ValidationError'
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`)
  }
}

/** The site id is unknown or the site was deleted: answer 400. */
export class UnknownSiteError extends FloeError {
  override name = 'UnknownSiteError'
  constructor(readonly siteId: string) {
    super(`website: unknown or deleted site ${siteId}`)
  }
}

/** Unflushed backlog is over its limit: answer 503 with Retry-After and let the client retry. */
export class BackpressureError extends FloeError {
  override name = 'BackpressureError'
  /** `what` says what is full or failing (default: the backlog of uncommitted rows). */
  constructor(
    readonly retryAfterSeconds: number,
    what = 'ingest backlog is full',
  ) {
    super(`${what}; retry after ${retryAfterSeconds}s`)
  }
}

/** Rows do not match the table schema (wrong type, missing required column). Nothing was written. */
export class SchemaMismatchError extends FloeError {
  override name = 'SchemaMismatchError'
  constructor(
    readonly table: string,
    readonly column: string,
    message: string,
  ) {
    super(`${table}.${column}: ${message}`)
  }
}

/**
 * Another writer moved the table's current metadata first. Safe to retry: reload the table and
 * rebuild the manifest list on the new parent (never resend the stale one).
 */
export class CommitConflictError extends FloeError {
  override name = 'CommitConflictError'
  isConflict(): true {
    return true
  }
}

/**
 * The catalog may or may not have applied the commit (timeout, 5xx, lost connection). Do not
 * blindly re-commit: reload the table and look for the commit's `floe.commit-id` in the snapshots.
 */
export class CommitStateUnknownError extends FloeError {
  override name = 'CommitStateUnknownError'
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message)
  }
}

/**
 * The table already holds rows of this append: an earlier append of the same rows whose outcome was
 * unknown (CommitStateUnknownError) landed after all, later than the caller looked. Nothing was
 * written by this call. Reload, drop what the table holds, and append the rest.
 */
export class AlreadyCommittedError extends FloeError {
  override name = 'AlreadyCommittedError'
}

/**
 * Data files staged for one partition spec cannot join a snapshot of a table whose spec has since
 * changed: they are staged again (src/write/append.ts `commitFiles`).
 */
export class StaleSpecError extends FloeError {
  override name = 'StaleSpecError'
}

/** Commit retries were exhausted; the rows are still held by the caller (buffer/WAL). */
export class CommitRetriesExhaustedError extends FloeError {
  override name = 'CommitRetriesExhaustedError'
}

/**
 * The table's current schema no longer matches Floe's table definition (`schemas/*.json`): another
 * engine dropped, re-added or retyped a column Floe writes. Appending would write data under the
 * wrong field ids, so Floe refuses; the rows stay buffered and in the WAL (503s once the backlog is
 * full). To fix: restore the column in the table (same id and type), or change Floe's definition.
 */
export class TableSchemaConflictError extends FloeError {
  override name = 'TableSchemaConflictError'
  constructor(
    readonly table: string,
    readonly column: string,
    message: string,
  ) {
    super(`${table}.${column}: ${message}`)
  }
}

/**
 * The store refused a write before creating anything (disk full while writing the temp file, no
 * hard links on this filesystem, access denied on the first attempt): a definite failure, unlike
 * an error after which the object may exist. Nothing to reconcile; the caller may clean up.
 */
export class WriteNotAppliedError extends FloeError {
  override name = 'WriteNotAppliedError'
  constructor(
    readonly uri: string,
    override readonly cause: unknown,
  ) {
    super(`write of ${uri} was refused, nothing was created: ${String(cause)}`)
  }
}

/** Table or namespace does not exist in the catalog. */
export class NoSuchTableError extends FloeError {
  override name = 'NoSuchTableError'
}

/** Bad configuration: start-up stops with a message naming the variable. */
export class ConfigError extends FloeError {
  override name = 'ConfigError'
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`)
  }
}

/** A file the caller expected (metadata, manifest, data file) is not in storage. */
export class FileNotFoundError extends FloeError {
  override name = 'FileNotFoundError'
  constructor(readonly uri: string) {
    super(`file not found: ${uri}`)
  }
}

/** The client IP matches IGNORE_IP: answer 403 (Umami's behaviour); nothing is stored. */
export class IgnoredIpError extends FloeError {
  override name = 'IgnoredIpError'
  constructor() {
    super('Forbidden')
  }
}

/** Admin API without a Bearer token (401) or with a wrong one (403). */
export class AuthError extends FloeError {
  override name = 'AuthError'
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message)
  }
}

/**
 * A write-key request to a site with a signing secret whose signature is missing, stale or wrong
 * (401): the sender is known (a valid write key), so its events go to the dead-letter table.
 */
export class SignatureError extends AuthError {
  override name = 'SignatureError'
  constructor(message: string) {
    super(401, message)
  }
}

/** A site id given to the admin API does not exist (404). */
export class SiteNotFoundError extends FloeError {
  override name = 'SiteNotFoundError'
  constructor(readonly siteId: string) {
    super(`site ${siteId} not found`)
  }
}

/** A key id given to the admin API does not exist for that site (404). */
export class KeyNotFoundError extends FloeError {
  override name = 'KeyNotFoundError'
  constructor(readonly keyId: string) {
    super(`key ${keyId} not found for this site`)
  }
}

/**
 * The sites database cannot be reached (outage, restart, connection refused or timed out) and the
 * answer is not in the cache: answer 503 with Retry-After, never 500. `cause` is the driver's error.
 */
export class SiteStoreUnavailableError extends FloeError {
  override name = 'SiteStoreUnavailableError'
  readonly retryAfterSeconds = 5
  constructor(override readonly cause: unknown) {
    super(`the sites database is unavailable; retry later`)
  }
}

/**
 * A namespace level or table name that cannot be an Iceberg identifier here: empty, or holding
 * `/`, `\`, `..`, NUL or another control character. Such names would turn into storage paths
 * outside the table's folder (`..%2F..%2Foutside`), so they are refused before any path is built.
 */
export class InvalidIdentifierError extends ValidationError {
  override name = 'InvalidIdentifierError'
}

/** A storage location that is not under the warehouse root (a path trick or a foreign location). */
export class OutsideWarehouseError extends FloeError {
  override name = 'OutsideWarehouseError'
  constructor(
    readonly location: string,
    readonly root: string,
  ) {
    super(`location ${location} is outside the warehouse ${root}`)
  }
}

/** `POST /api/admin/flush` could not commit (storage or catalog away): 503, rows stay buffered. */
export class FlushFailedError extends FloeError {
  override name = 'FlushFailedError'
  readonly retryAfterSeconds = 5
  constructor(override readonly cause: unknown) {
    super(`flush failed: ${(cause as Error)?.message ?? String(cause)}`)
  }
}

/**
 * A commit's requirements or updates are malformed or cannot apply to the table (an update for a
 * snapshot that does not exist, a snapshot id that is taken): the client's fault, not a race.
 * The REST endpoint answers 400; retrying the same commit cannot succeed.
 */
export class InvalidCommitError extends FloeError {
  override name = 'InvalidCommitError'
}

/** A known Iceberg table update Floe's commit core does not implement: the REST endpoint answers 406. */
export class UnsupportedUpdateError extends FloeError {
  override name = 'UnsupportedUpdateError'
}

/**
 * A maintenance commit (compaction's replace snapshot) found that another writer changed the files
 * it rewrote (a concurrent compaction, a delete, Spark's or Trino's own maintenance). It gives up:
 * the files it wrote are deleted (nothing references them) and the next scheduled run plans again.
 */
export class MaintenanceConflictError extends FloeError {
  override name = 'MaintenanceConflictError'
}

/**
 * A reporting query ran past FLOE_REPORT_QUERY_TIMEOUT_SECONDS and was interrupted: 503 with
 * Retry-After (the server is busy or the question too large); a narrower range answers sooner.
 */
export class QueryTimeoutError extends FloeError {
  override name = 'QueryTimeoutError'
  readonly retryAfterSeconds = 5
  constructor(readonly timeoutSeconds: number) {
    super(`the query did not finish within ${timeoutSeconds}s; narrow the date range or retry later`)
  }
}

/** `GET /api/share/:shareId` with no live share key of that token: 404 (the id is not echoed). */
export class ShareLinkNotFoundError extends FloeError {
  override name = 'ShareLinkNotFoundError'
  constructor() {
    super('share link not found')
  }
}

/**
 * The replicated log (NATS JetStream, Kafka; src/log/) did not acknowledge a publish: it is down,
 * unreachable, over its limits, or this receiver has too many publishes in flight. Nothing was
 * acknowledged, so the receiver answers 503 with Retry-After and the client retries.
 */
export class LogUnavailableError extends FloeError {
  override name = 'LogUnavailableError'
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
    override readonly cause?: unknown,
  ) {
    super(message)
  }
}
