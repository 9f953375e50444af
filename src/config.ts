/**
 * One config object, parsed and validated once at start from the environment; passed down, so no
 * code below reads `process.env`. Every variable is documented in README.md and `.env.example`.
 * A missing or invalid value throws ConfigError naming the variable.
 */
import path from 'node:path'
import { ConfigError } from './errors.ts'
import type { CatalogType } from './table/catalog.ts'

export interface S3Config {
  bucket: string
  /** Key prefix of the warehouse inside the bucket, ends with `/` (default `product-analytics/`). */
  prefix: string
  endpoint: string | undefined
  region: string
  forcePathStyle: boolean
  accessKeyId: string | undefined
  secretAccessKey: string | undefined
  /** `AWS_SESSION_TOKEN`, with temporary keys. */
  sessionToken?: string
  /** Store enforces `If-None-Match: *` (AWS S3, Garage, MinIO: true; s3rver: false). Default true. */
  conditionalWrites?: boolean
  /** Part size of streamed (multipart) uploads, in bytes: `ICEBERG_S3_PART_SIZE_MB` (default 8, min 5). */
  partSizeBytes?: number
}

/** FLOE_ROLE: which halves of the pipeline this process runs (docs/deploy.md). */
export type FloeRole = 'all' | 'receiver' | 'writer'
/** FLOE_LOG: what sits between receiving and writing (src/log/transport.ts). */
export type LogKind = 'wal' | 'nats' | 'kafka'

/** The replicated log between receivers and writers (issue 14; docs/deploy.md). */
export interface LogConfig {
  kind: LogKind
  /** FLOE_LOG_PARTITIONS: partitions of the log; a site's events always go to one (hash of its id). */
  partitions: number
  /** FLOE_LOG_MAX_IN_FLIGHT: publishes one receiver awaits at once; beyond it, 503 + Retry-After. */
  maxInFlight: number
  /** FLOE_LOG_PUBLISH_TIMEOUT_MS: a publish not acknowledged within this is refused (503). */
  publishTimeoutMs: number
  /** FLOE_LOG_LEASE_SECONDS: a writer's claim on a partition lasts this long without renewal. */
  leaseSeconds: number
  /**
   * FLOE_LOG_COMMIT_COORDINATOR: writers stage data files and one elected writer per table commits
   * them all (src/log/commit-coordinator.ts). Default on for FLOE_ROLE=writer; needs Postgres.
   */
  commitCoordinator: boolean
  /** FLOE_LOG_COMMIT_INTERVAL_MS: the coordinator commits a table at most this often (requests wait meanwhile). */
  commitIntervalMs: number
  nats: {
    /** FLOE_NATS_URL: comma-separated server URLs. */
    servers: string[]
    /** FLOE_NATS_STREAM: the JetStream stream (created if missing). */
    stream: string
    /** FLOE_NATS_SUBJECT_PREFIX: partition p is the subject `<prefix>.<p>`. */
    subjectPrefix: string
    /** FLOE_NATS_REPLICAS: stream replicas when Floe creates it (1 on a single server). */
    replicas: number
    /** FLOE_NATS_DUPLICATE_WINDOW_SECONDS: JetStream's Nats-Msg-Id dedup window. */
    duplicateWindowSeconds: number
  }
  kafka: {
    /** FLOE_KAFKA_BROKERS: comma-separated host:port bootstrap brokers. */
    brokers: string[]
    /** FLOE_KAFKA_TOPIC */
    topic: string
    /** FLOE_KAFKA_GROUP: the writers' consumer group. */
    group: string
  }
}

export interface FloeConfig {
  /** FLOE_ROLE (default `all`: one process receives and writes, as before roles existed). */
  role: FloeRole
  log: LogConfig
  port: number
  host: string
  publicUrl: string
  /** Postgres URL; undefined = the embedded database under `dataDir` (`embeddedDb`). */
  databaseUrl: string | undefined
  /**
   * FLOE_EMBEDDED_DB: which embedded database holds the catalog and sites when no DATABASE_URL is
   * set: `sqlite` (`<dataDir>/floe.sqlite`), `pglite` (`<dataDir>/pglite`), or undefined = SQLite,
   * unless the data folder already holds PGlite data and no SQLite file (storage/index.ts).
   */
  embeddedDb: 'sqlite' | 'pglite' | undefined
  /** DATABASE_CONNECT_TIMEOUT_SECONDS: give up opening a Postgres connection after this long. */
  databaseConnectTimeoutSeconds: number
  /** FLOE_SITE_CACHE_TTL_SECONDS: a cached site is fresh this long; older copies are refreshed in the background. */
  siteCacheTtlSeconds: number
  dataDir: string
  adminToken: string | undefined
  appSecret: string
  geoliteDbPath: string | undefined
  clientIpHeader: string | undefined
  /** TRUST_PROXY_HOPS: proxies in front whose X-Forwarded-For entries the rate limiter believes (0 = none). */
  trustProxyHops: number
  ignoreIp: string[]
  disableBotCheck: boolean
  corsAllowAll: boolean
  rateLimit: { perIpPerMinute: number; perSitePerMinute: number }
  bodyLimitBytes: number
  /** Identify data limits: SESSION_DATA_MAX_KEYS (per session), SESSION_DATA_MAX_VALUE_BYTES. */
  sessionData: { maxKeys: number; maxValueBytes: number }
  /** Slow-client and connection limits of the HTTP server (docs: README "Configuration"). */
  http: {
    /** HTTP_REQUEST_TIMEOUT_SECONDS: the whole request (headers and body) must arrive within this. */
    requestTimeoutSeconds: number
    /** HTTP_HEADERS_TIMEOUT_SECONDS: the request headers must arrive within this. */
    headersTimeoutSeconds: number
    /** HTTP_IDLE_TIMEOUT_SECONDS: a socket with no traffic at all for this long is closed. */
    idleTimeoutSeconds: number
    /** HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: an idle kept-alive connection is closed after this. */
    keepAliveTimeoutSeconds: number
    /** HTTP_MAX_CONNECTIONS: open connections beyond this are closed at once. */
    maxConnections: number
  }
  /** Accepted `payload.timestamp` window around the receive time, in seconds. */
  eventTime: { maxPastSeconds: number; maxFutureSeconds: number }
  iceberg: {
    catalogType: CatalogType
    catalogName: string
    catalogUri: string | undefined
    catalogCredentials: string | undefined
    catalogWarehouse: string | undefined
    /** OAuth2 scope for rest client credentials (default `catalog`; Polaris wants `PRINCIPAL_ROLE:ALL`). */
    catalogScope?: string
    catalogOauth2ServerUri?: string
    namespace: string
    /** Warehouse root URI: `file:///abs/data/warehouse` or `s3://bucket/prefix`. */
    warehouse: string
    s3: S3Config | undefined
    flushIntervalSeconds: number
    flushBatchSize: number
    flushMaxBytes: number
    restReadToken: string | undefined
    restWriteEnabled: boolean
    /**
     * S3 settings handed to REST readers in load-table `config` instead of Floe's own: the endpoint
     * as readers reach it and an (ideally read-only) key pair. Floe's own keys are never handed out.
     */
    restReaderS3: { endpoint?: string; accessKeyId?: string; secretAccessKey?: string }
    /** hadoop catalog on a store without If-None-Match: commit anyway (single writer only). */
    hadoopAllowUnsafeCommits?: boolean
  }
  wal: {
    dir: string
    /** `always`: fsync before answering 2xx (group commit); `interval`: fsync every walFsyncMs; `never`. */
    fsync: 'always' | 'interval' | 'never'
    fsyncIntervalMs: number
    enabled: boolean
  }
  backlogMaxRows: number
  /**
   * Worker threads that encode Parquet files and manifests for flushes (FLOE_ENCODE_WORKERS), so
   * the receiving thread only validates, enriches and appends to the WAL; 0 = on the receiving thread.
   */
  encodeWorkers: number
  shutdownTimeoutSeconds: number
  /** `POST /v1/events` (docs/v1-events.md). */
  v1Events: {
    /** V1_EVENTS_MAX_PER_REQUEST: events per envelope; more is a 400 naming `events`. */
    maxPerRequest: number
    /**
     * FLOE_IDEMPOTENCY_WINDOW_SECONDS: how long a `(site, event_id)` is remembered, so a retry within
     * it lands no second row (docs/idempotency.md); 0 turns idempotency off.
     */
    idempotencyWindowSeconds: number
    /** V1_SIGNATURE_TOLERANCE_SECONDS: accepted clock skew of X-Floe-Timestamp (and replay memory). */
    signatureToleranceSeconds: number
    /** V1_BROWSER_TOKEN_MAX_TTL_SECONDS: a browser token expiring later than this is refused. */
    browserTokenMaxTtlSeconds: number
  }
  logLevel: string
  /** One log line per request at info (FLOE_LOG_REQUESTS); off by default, it costs throughput. */
  logRequests: boolean
  /** With per-request lines off, requests at least this slow are logged at warn; 0 = none. */
  logSlowRequestMs: number
  maintenance: MaintenanceConfig
  /** The dead-letter table `pa_rejected` and its replay (docs/dead-letter.md). */
  deadLetter: {
    /** FLOE_DEAD_LETTER: refused events of a known site are written to pa_rejected. */
    enabled: boolean
    /** FLOE_DEAD_LETTER_SAMPLED_OUT: sampled-out /v1 events too (reason sampled_out). */
    sampledOut: boolean
    /** FLOE_REPLAY_MAX_EVENTS: most events one POST /api/admin/replay re-sends. */
    replayMaxEvents: number
  }
  report: ReportConfig
}

/** The query layer and reporting APIs (docs/reporting.md). Every bound on a query's work is here. */
export interface ReportConfig {
  /** FLOE_REPORT_MAX_SPAN_DAYS: the longest date range one query may cover (400 beyond). */
  maxSpanDays: number
  /** FLOE_REPORT_MAX_FILES: data files one query may scan (400 naming the range beyond). */
  maxFiles: number
  /** FLOE_REPORT_MAX_SCAN_BYTES: data-file bytes one query may scan (400 naming the range beyond). */
  maxScanBytes: number
  /** FLOE_REPORT_DUCKDB_MEMORY_MB: DuckDB's memory_limit (it spills or fails past it, never grows). */
  duckdbMemoryMb: number
  /** FLOE_REPORT_DUCKDB_THREADS: DuckDB worker threads, shared by all queries. */
  duckdbThreads: number
  /** FLOE_REPORT_QUERY_TIMEOUT_SECONDS: a query still running after this is interrupted (503). */
  queryTimeoutSeconds: number
  /** FLOE_REPORT_CACHE_DIR: local copies of data files of an S3 warehouse. */
  cacheDir: string
  /** FLOE_REPORT_CACHE_MAX_BYTES: size bound of that cache (least recently used files go first). */
  cacheMaxBytes: number
}

/** Table maintenance (docs/maintenance.md). Each part can be switched off for operators who run Spark or Trino's. */
export interface MaintenanceConfig {
  /** Seconds between scheduled runs on each replica; 0 = no schedule (the admin route still runs it). */
  intervalSeconds: number
  /** How long a replica's per-table lease lasts without renewal. */
  leaseSeconds: number
  /** Snapshot expiry (`history.expire.*`, `floe.history.max-snapshots` table properties). */
  expire: { enabled: boolean }
  compaction: {
    enabled: boolean
    /** A partition is compacted only once its newest file is this old. */
    quietMinutes: number
    /** Rows per sort batch and output row group: the memory bound of a rewrite. */
    batchRows: number
    /** Local folder for the sort's spill files (groups larger than one batch). */
    spillDir: string
  }
  orphans: {
    enabled: boolean
    /** Unreferenced files younger than this are kept (a commit may be in flight). */
    ageSeconds: number
  }
  /** Per-site retention (docs/retention.md). */
  retention: {
    enabled: boolean
    /** Days a site without its own setting keeps; 0 = forever (the default). */
    defaultDays: number
  }
}

type Env = Record<string, string | undefined>

function str(env: Env, name: string, fallback?: string): string | undefined {
  const v = env[name]
  return v === undefined || v === '' ? fallback : v
}

function int(env: Env, name: string, fallback: number, min = 0): number {
  const v = str(env, name)
  if (v === undefined) return fallback
  if (!/^\d+$/.test(v)) throw new ConfigError(name, `must be an integer, got "${v}"`)
  const n = Number(v)
  if (n < min) throw new ConfigError(name, `must be >= ${min}, got ${n}`)
  return n
}

function bool(env: Env, name: string, fallback = false): boolean {
  const v = str(env, name)
  if (v === undefined) return fallback
  if (/^(1|true|yes|on)$/i.test(v)) return true
  if (/^(0|false|no|off)$/i.test(v)) return false
  throw new ConfigError(name, `must be true or false, got "${v}"`)
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const v = str(env, name, fallback) as T
  if (!allowed.includes(v)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${v}"`)
  return v
}

function httpLimits(env: Env): FloeConfig['http'] {
  const limits = {
    requestTimeoutSeconds: int(env, 'HTTP_REQUEST_TIMEOUT_SECONDS', 30, 1),
    headersTimeoutSeconds: int(env, 'HTTP_HEADERS_TIMEOUT_SECONDS', 10, 1),
    idleTimeoutSeconds: int(env, 'HTTP_IDLE_TIMEOUT_SECONDS', 30, 1),
    keepAliveTimeoutSeconds: int(env, 'HTTP_KEEP_ALIVE_TIMEOUT_SECONDS', 65, 1),
    maxConnections: int(env, 'HTTP_MAX_CONNECTIONS', 10_000, 1),
  }
  // Node refuses a headers timeout above the request timeout; say which variable to change.
  if (limits.headersTimeoutSeconds > limits.requestTimeoutSeconds)
    throw new ConfigError(
      'HTTP_HEADERS_TIMEOUT_SECONDS',
      `must not exceed HTTP_REQUEST_TIMEOUT_SECONDS (${limits.requestTimeoutSeconds})`,
    )
  return limits
}

function list(env: Env, name: string, fallback: string): string[] {
  return str(env, name, fallback)!
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
}

function roleAndLog(env: Env, databaseUrl: string | undefined): Pick<FloeConfig, 'role' | 'log'> {
  const role = oneOf(env, 'FLOE_ROLE', ['all', 'receiver', 'writer'] as const, 'all')
  const kind = oneOf(env, 'FLOE_LOG', ['wal', 'nats', 'kafka'] as const, 'wal')
  // A receiver and a writer only meet through a log both reach: a local WAL is one process's.
  if (role !== 'all' && kind === 'wal')
    throw new ConfigError('FLOE_LOG', `must be nats or kafka when FLOE_ROLE=${role} (the WAL is local)`)
  // Writers share partition leases and receivers share sites through this database.
  if (role !== 'all' && databaseUrl === undefined)
    throw new ConfigError('DATABASE_URL', `is required when FLOE_ROLE=${role} (processes share it)`)
  const name = /^[A-Za-z0-9_-]+$/
  const stream = str(env, 'FLOE_NATS_STREAM', 'floe-events')!
  if (!name.test(stream))
    throw new ConfigError('FLOE_NATS_STREAM', `must match ${name.source}, got "${stream}"`)
  const subjectPrefix = str(env, 'FLOE_NATS_SUBJECT_PREFIX', 'floe.events')!
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(subjectPrefix))
    throw new ConfigError(
      'FLOE_NATS_SUBJECT_PREFIX',
      `must be dot-separated tokens without wildcards, got "${subjectPrefix}"`,
    )
  const leaseSeconds = int(env, 'FLOE_LOG_LEASE_SECONDS', 15, 3)
  const commitCoordinator = bool(env, 'FLOE_LOG_COMMIT_COORDINATOR', role === 'writer')
  // Requests and their NOTIFYs live in the database the writers share: an embedded one has no peers.
  if (commitCoordinator && (kind === 'wal' || databaseUrl === undefined))
    throw new ConfigError(
      'FLOE_LOG_COMMIT_COORDINATOR',
      'needs FLOE_LOG=nats or kafka and DATABASE_URL (the writers share requests through Postgres)',
    )
  return {
    role,
    log: {
      kind,
      partitions: int(env, 'FLOE_LOG_PARTITIONS', 8, 1),
      maxInFlight: int(env, 'FLOE_LOG_MAX_IN_FLIGHT', 1000, 1),
      publishTimeoutMs: int(env, 'FLOE_LOG_PUBLISH_TIMEOUT_MS', 5000, 100),
      leaseSeconds,
      commitCoordinator,
      commitIntervalMs: int(env, 'FLOE_LOG_COMMIT_INTERVAL_MS', 1000, 0),
      nats: {
        servers: list(env, 'FLOE_NATS_URL', 'nats://127.0.0.1:4222'),
        stream,
        subjectPrefix,
        replicas: int(env, 'FLOE_NATS_REPLICAS', 1, 1),
        duplicateWindowSeconds: int(env, 'FLOE_NATS_DUPLICATE_WINDOW_SECONDS', 120, 1),
      },
      kafka: {
        brokers: list(env, 'FLOE_KAFKA_BROKERS', '127.0.0.1:9092'),
        topic: str(env, 'FLOE_KAFKA_TOPIC', 'floe-events')!,
        group: str(env, 'FLOE_KAFKA_GROUP', 'floe-writers')!,
      },
    },
  }
}

export function loadConfig(env: Env = process.env, cwd = process.cwd()): FloeConfig {
  const port = int(env, 'PORT', 8080)
  if (port > 65535) throw new ConfigError('PORT', `must be a TCP port, got ${port}`)
  const host = str(env, 'HOST', '0.0.0.0')!
  const publicUrl = str(env, 'PUBLIC_URL', `http://localhost:${port}`)!
  try {
    new URL(publicUrl)
  } catch {
    throw new ConfigError('PUBLIC_URL', `must be an absolute URL, got "${publicUrl}"`)
  }
  const dataDir = path.resolve(cwd, str(env, 'FLOE_DATA_DIR', './data')!)
  const databaseUrl = str(env, 'DATABASE_URL')
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl))
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// URL')

  const bucket = str(env, 'ICEBERG_S3_BUCKET')
  let s3: S3Config | undefined
  if (bucket !== undefined) {
    let prefix = str(env, 'ICEBERG_S3_PREFIX', 'product-analytics/')!
    if (prefix !== '' && !prefix.endsWith('/')) prefix += '/'
    s3 = {
      bucket,
      prefix,
      endpoint: str(env, 'ICEBERG_S3_ENDPOINT'),
      region: str(env, 'AWS_REGION', 'us-east-1')!,
      forcePathStyle: bool(env, 'ICEBERG_S3_PATH_STYLE', str(env, 'ICEBERG_S3_ENDPOINT') !== undefined),
      accessKeyId: str(env, 'AWS_ACCESS_KEY_ID'),
      secretAccessKey: str(env, 'AWS_SECRET_ACCESS_KEY'),
      sessionToken: str(env, 'AWS_SESSION_TOKEN'),
      conditionalWrites: bool(env, 'ICEBERG_S3_CONDITIONAL_WRITES', true),
      // S3's minimum part size is 5 MiB (all parts but the last).
      partSizeBytes: int(env, 'ICEBERG_S3_PART_SIZE_MB', 8, 5) * 1024 * 1024,
    }
  }
  const warehouse = s3
    ? `s3://${s3.bucket}/${s3.prefix.replace(/\/$/, '')}`.replace(/\/$/, '')
    : 'file://' + path.resolve(cwd, str(env, 'ICEBERG_WAREHOUSE', path.join(dataDir, 'warehouse'))!)

  const catalogType = oneOf(env, 'ICEBERG_CATALOG_TYPE', ['jdbc', 'rest', 'hadoop', 'glue'] as const, 'jdbc')
  const catalogUri = str(env, 'ICEBERG_CATALOG_URI')
  if (catalogType === 'rest' && catalogUri === undefined)
    throw new ConfigError('ICEBERG_CATALOG_URI', 'is required when ICEBERG_CATALOG_TYPE=rest')

  const appSecret = str(env, 'APP_SECRET')
  if (appSecret === undefined && databaseUrl !== undefined)
    throw new ConfigError('APP_SECRET', 'is required when DATABASE_URL is set (it seeds session ids)')

  const ignoreIp = (str(env, 'IGNORE_IP', '') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

  return {
    ...roleAndLog(env, databaseUrl),
    port,
    host,
    publicUrl: publicUrl.replace(/\/$/, ''),
    databaseUrl,
    embeddedDb:
      str(env, 'FLOE_EMBEDDED_DB') === undefined
        ? undefined
        : oneOf(env, 'FLOE_EMBEDDED_DB', ['sqlite', 'pglite'] as const, 'sqlite'),
    databaseConnectTimeoutSeconds: int(env, 'DATABASE_CONNECT_TIMEOUT_SECONDS', 5, 1),
    siteCacheTtlSeconds: int(env, 'FLOE_SITE_CACHE_TTL_SECONDS', 60, 1),
    dataDir,
    adminToken: str(env, 'ADMIN_TOKEN'),
    // Embedded default only: a fixed dev secret keeps ids stable across restarts of a laptop demo.
    appSecret: appSecret ?? 'floe-embedded-dev-secret',
    geoliteDbPath: str(env, 'GEOLITE_DB_PATH'),
    clientIpHeader: str(env, 'CLIENT_IP_HEADER')?.toLowerCase(),
    trustProxyHops: int(env, 'TRUST_PROXY_HOPS', 0),
    ignoreIp,
    disableBotCheck: bool(env, 'DISABLE_BOT_CHECK'),
    corsAllowAll: bool(env, 'CORS_ALLOW_ALL'),
    rateLimit: {
      perIpPerMinute: int(env, 'RATE_LIMIT_IP_PER_MINUTE', 600),
      perSitePerMinute: int(env, 'RATE_LIMIT_SITE_PER_MINUTE', 60_000),
    },
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1024),
    http: httpLimits(env),
    sessionData: {
      maxKeys: int(env, 'SESSION_DATA_MAX_KEYS', 200, 1),
      maxValueBytes: int(env, 'SESSION_DATA_MAX_VALUE_BYTES', 500, 1),
    },
    eventTime: {
      maxPastSeconds: int(env, 'EVENT_TIME_MAX_PAST_SECONDS', 7 * 86_400, 0),
      maxFutureSeconds: int(env, 'EVENT_TIME_MAX_FUTURE_SECONDS', 3_600, 0),
    },
    iceberg: {
      catalogType,
      catalogName: str(env, 'ICEBERG_CATALOG_NAME', 'floe')!,
      catalogUri,
      catalogCredentials: str(env, 'ICEBERG_CATALOG_CREDENTIALS'),
      catalogWarehouse: str(env, 'ICEBERG_CATALOG_WAREHOUSE'),
      catalogScope: str(env, 'ICEBERG_CATALOG_SCOPE'),
      catalogOauth2ServerUri: str(env, 'ICEBERG_CATALOG_OAUTH2_SERVER_URI'),
      namespace: str(env, 'ICEBERG_NAMESPACE', 'analytics')!,
      warehouse,
      s3,
      flushIntervalSeconds: int(env, 'ICEBERG_FLUSH_INTERVAL_SECONDS', 30, 1),
      flushBatchSize: int(env, 'ICEBERG_FLUSH_BATCH_SIZE', 1000, 1),
      flushMaxBytes: int(env, 'ICEBERG_FLUSH_MAX_BYTES', 16 * 1024 * 1024, 1024),
      restReadToken: str(env, 'ICEBERG_REST_READ_TOKEN'),
      restWriteEnabled: bool(env, 'ICEBERG_REST_WRITE_ENABLED'),
      restReaderS3: {
        endpoint: str(env, 'ICEBERG_REST_S3_ENDPOINT'),
        accessKeyId: str(env, 'ICEBERG_REST_S3_ACCESS_KEY_ID'),
        secretAccessKey: str(env, 'ICEBERG_REST_S3_SECRET_ACCESS_KEY'),
      },
      hadoopAllowUnsafeCommits: bool(env, 'ICEBERG_HADOOP_ALLOW_UNSAFE_COMMITS'),
    },
    wal: {
      dir: path.resolve(cwd, str(env, 'FLOE_WAL_DIR', path.join(dataDir, 'wal'))!),
      fsync: oneOf(env, 'FLOE_WAL_FSYNC', ['always', 'interval', 'never'] as const, 'always'),
      fsyncIntervalMs: int(env, 'FLOE_WAL_FSYNC_INTERVAL_MS', 100, 1),
      enabled: bool(env, 'FLOE_WAL_ENABLED', true),
    },
    backlogMaxRows: int(env, 'FLOE_BACKLOG_MAX_ROWS', 200_000, 1),
    encodeWorkers: int(env, 'FLOE_ENCODE_WORKERS', 1, 0),
    shutdownTimeoutSeconds: int(env, 'FLOE_SHUTDOWN_TIMEOUT_SECONDS', 25, 1),
    v1Events: {
      maxPerRequest: int(env, 'V1_EVENTS_MAX_PER_REQUEST', 1000, 1),
      idempotencyWindowSeconds: int(env, 'FLOE_IDEMPOTENCY_WINDOW_SECONDS', 86_400),
      signatureToleranceSeconds: int(env, 'V1_SIGNATURE_TOLERANCE_SECONDS', 300, 1),
      browserTokenMaxTtlSeconds: int(env, 'V1_BROWSER_TOKEN_MAX_TTL_SECONDS', 3600, 1),
    },
    logLevel: str(env, 'LOG_LEVEL', 'info')!,
    logRequests: bool(env, 'FLOE_LOG_REQUESTS'),
    logSlowRequestMs: int(env, 'FLOE_LOG_SLOW_REQUEST_MS', 1000),
    deadLetter: {
      enabled: bool(env, 'FLOE_DEAD_LETTER', true),
      sampledOut: bool(env, 'FLOE_DEAD_LETTER_SAMPLED_OUT', true),
      replayMaxEvents: int(env, 'FLOE_REPLAY_MAX_EVENTS', 10_000, 1),
    },
    maintenance: {
      intervalSeconds: int(env, 'FLOE_MAINTENANCE_INTERVAL_SECONDS', 3600),
      leaseSeconds: int(env, 'FLOE_MAINTENANCE_LEASE_SECONDS', 900, 10),
      expire: { enabled: bool(env, 'FLOE_MAINTENANCE_EXPIRE', true) },
      compaction: {
        enabled: bool(env, 'FLOE_MAINTENANCE_COMPACTION', true),
        quietMinutes: int(env, 'FLOE_MAINTENANCE_COMPACT_QUIET_MINUTES', 60),
        batchRows: int(env, 'FLOE_MAINTENANCE_COMPACT_BATCH_ROWS', 50_000, 100),
        spillDir: path.resolve(
          cwd,
          str(env, 'FLOE_MAINTENANCE_COMPACT_SPILL_DIR', path.join(dataDir, 'compaction-spill'))!,
        ),
      },
      orphans: {
        enabled: bool(env, 'FLOE_MAINTENANCE_ORPHANS', true),
        // Java's remove_orphan_files default: older than 3 days.
        ageSeconds: int(env, 'FLOE_MAINTENANCE_ORPHAN_AGE_SECONDS', 3 * 86_400, 60),
      },
      retention: {
        enabled: bool(env, 'FLOE_MAINTENANCE_RETENTION', true),
        defaultDays: int(env, 'FLOE_RETENTION_DEFAULT_DAYS', 0, 0),
      },
    },
    report: {
      maxSpanDays: int(env, 'FLOE_REPORT_MAX_SPAN_DAYS', 800, 1),
      maxFiles: int(env, 'FLOE_REPORT_MAX_FILES', 20_000, 1),
      maxScanBytes: int(env, 'FLOE_REPORT_MAX_SCAN_BYTES', 8 * 1024 ** 3, 1024),
      duckdbMemoryMb: int(env, 'FLOE_REPORT_DUCKDB_MEMORY_MB', 256, 32),
      duckdbThreads: int(env, 'FLOE_REPORT_DUCKDB_THREADS', 1, 1),
      queryTimeoutSeconds: int(env, 'FLOE_REPORT_QUERY_TIMEOUT_SECONDS', 30, 1),
      cacheDir: path.resolve(cwd, str(env, 'FLOE_REPORT_CACHE_DIR', path.join(dataDir, 'report-cache'))!),
      cacheMaxBytes: int(env, 'FLOE_REPORT_CACHE_MAX_BYTES', 2 * 1024 ** 3, 0),
    },
  }
}
