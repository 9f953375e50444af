/**
 * Bootstraps a fresh single-node Garage (v2 admin API) for Floe: assigns the node a layout role,
 * imports a writer key (Floe: read/write/owner) and a reader key (Trino/Spark/PyIceberg/DuckDB:
 * read-only), creates the bucket and grants both. Idempotent: safe to run on every `docker compose up`.
 *
 * Used by the `garage-init` service of docker-compose.yml and by test/docker/. Run by hand with
 *   GARAGE_ADMIN_URL=http://localhost:3903 GARAGE_ADMIN_TOKEN=… npx tsx dev/garage-bootstrap.ts
 *
 * Why the HTTP admin API and not the `garage` CLI: the official image has no shell, and the CLI
 * needs the node's RPC key; the admin API needs only the admin token from garage.toml.
 */

export interface GarageKey {
  /** Garage key ids are `GK` + 24 hex digits; secrets 64 hex digits. */
  accessKeyId: string
  secretAccessKey: string
  name: string
}

export interface GarageBootstrapOptions {
  adminUrl: string
  adminToken: string
  bucket: string
  writer: GarageKey
  reader: GarageKey
  /** How long to wait for the admin API to answer (default 60 s). */
  timeoutMs?: number
  log?: (message: string) => void
}

async function admin(
  opts: GarageBootstrapOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const res = await fetch(`${opts.adminUrl.replace(/\/+$/, '')}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${opts.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  let json: unknown = text
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    /* plain-text error bodies */
  }
  return { status: res.status, json }
}

async function must(
  opts: GarageBootstrapOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<any> {
  const r = await admin(opts, method, path, body)
  if (r.status >= 300)
    throw new Error(`garage admin ${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.json)}`)
  return r.json
}

export async function bootstrapGarage(opts: GarageBootstrapOptions): Promise<void> {
  const log = opts.log ?? ((m: string) => console.log(`garage-bootstrap: ${m}`))
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
  let status: { layoutVersion: number; nodes: { id: string }[] } | undefined
  while (status === undefined) {
    try {
      const r = await admin(opts, 'GET', '/v2/GetClusterStatus')
      if (r.status === 200) status = r.json
      else if (r.status === 401 || r.status === 403)
        throw new Error('admin token rejected: check GARAGE_ADMIN_TOKEN')
    } catch (err) {
      if (String(err).includes('admin token')) throw err
    }
    if (status === undefined) {
      if (Date.now() > deadline)
        throw new Error(`garage admin API at ${opts.adminUrl} did not answer in time`)
      await new Promise((r) => setTimeout(r, 500))
    }
  }

  if (status.layoutVersion === 0) {
    const node = status.nodes[0]?.id
    if (!node) throw new Error('garage reports no node')
    log(`assigning layout role to node ${node.slice(0, 16)}…`)
    await must(opts, 'POST', '/v2/UpdateClusterLayout', {
      roles: [{ id: node, zone: 'dc1', capacity: 10 * 1024 ** 3, tags: ['floe-dev'] }],
    })
    await must(opts, 'POST', '/v2/ApplyClusterLayout', { version: 1 })
  }

  for (const key of [opts.writer, opts.reader]) {
    const existing = await admin(opts, 'GET', `/v2/GetKeyInfo?id=${encodeURIComponent(key.accessKeyId)}`)
    if (existing.status === 200) continue
    log(`importing key ${key.name} (${key.accessKeyId})`)
    await must(opts, 'POST', '/v2/ImportKey', key)
  }

  let bucket = await admin(opts, 'GET', `/v2/GetBucketInfo?globalAlias=${encodeURIComponent(opts.bucket)}`)
  if (bucket.status !== 200) {
    log(`creating bucket ${opts.bucket}`)
    bucket = { status: 200, json: await must(opts, 'POST', '/v2/CreateBucket', { globalAlias: opts.bucket }) }
  }
  const bucketId = bucket.json.id as string
  await must(opts, 'POST', '/v2/AllowBucketKey', {
    bucketId,
    accessKeyId: opts.writer.accessKeyId,
    permissions: { read: true, write: true, owner: true },
  })
  await must(opts, 'POST', '/v2/AllowBucketKey', {
    bucketId,
    accessKeyId: opts.reader.accessKeyId,
    permissions: { read: true, write: false, owner: false },
  })
  log(`bucket ${opts.bucket} ready (writer ${opts.writer.accessKeyId}, reader ${opts.reader.accessKeyId})`)
}

function env(name: string): string {
  const v = process.env[name]
  if (!v) throw new Error(`garage-bootstrap: ${name} is required`)
  return v
}

if (import.meta.url === `file://${process.argv[1]}`) {
  bootstrapGarage({
    adminUrl: env('GARAGE_ADMIN_URL'),
    adminToken: env('GARAGE_ADMIN_TOKEN'),
    bucket: env('GARAGE_BUCKET'),
    writer: {
      name: 'floe-writer',
      accessKeyId: env('GARAGE_WRITER_KEY_ID'),
      secretAccessKey: env('GARAGE_WRITER_SECRET'),
    },
    reader: {
      name: 'floe-reader',
      accessKeyId: env('GARAGE_READER_KEY_ID'),
      secretAccessKey: env('GARAGE_READER_SECRET'),
    },
  }).catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}
