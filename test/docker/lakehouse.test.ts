/**
 * Integration with the images of the local lakehouse stack (testcontainers): PostgreSQL 16 and
 * Garage v2 bootstrapped by dev/garage-bootstrap.ts exactly as docker-compose.yml does. Floe writes
 * through the JdbcCatalog on that Postgres into Garage over S3 (with Garage's If-None-Match), and its
 * REST endpoint hands readers the read-only key, which is then used to read the manifest list back.
 *
 * Runs only where a Docker engine is reachable (DOCKER_HOST or /var/run/docker.sock); otherwise the
 * suite is skipped, with the reason in its name, before testcontainers is even loaded.
 */
import { existsSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Fastify from 'fastify'
import { IcebergRestCatalog } from 'iceberg-js'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { icebergRestPlugin } from '../../src/read/rest-catalog.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { S3FileIO } from '../../src/storage/s3.ts'
import { createTableWriter } from '../../src/write/append.ts'
import { bootstrapGarage } from '../../dev/garage-bootstrap.ts'
import { eventRow } from '../read/support.ts'

const dockerAvailable = process.env.DOCKER_HOST !== undefined || existsSync('/var/run/docker.sock')
if (!dockerAvailable)
  console.warn('test/docker: skipped — no Docker engine (set DOCKER_HOST or provide /var/run/docker.sock)')
const WRITER = {
  name: 'floe-writer',
  accessKeyId: 'GK0f10e5eade0000000000a001',
  secretAccessKey: '9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9',
}
const READER = {
  name: 'floe-reader',
  accessKeyId: 'GK0f10e5eade0000000000a002',
  secretAccessKey: '2f1e0d9c8b7a69584736251403f2e1d0c9b8a79685746352413021f0e1d2c3b4',
}

describe.skipIf(!dockerAvailable)(
  `lakehouse images (Postgres + Garage)${dockerAvailable ? '' : ' — SKIPPED: no Docker engine (set DOCKER_HOST or provide /var/run/docker.sock)'}`,
  () => {
    const stops: (() => Promise<unknown>)[] = []
    let pgUrl = ''
    let s3Endpoint = ''

    beforeAll(async () => {
      // Loaded lazily so machines without Docker never touch testcontainers.
      const { GenericContainer, Wait } = await import('testcontainers')
      const pg = await new GenericContainer('postgres:16-alpine')
        .withEnvironment({ POSTGRES_USER: 'floe', POSTGRES_PASSWORD: 'floe', POSTGRES_DB: 'floe' })
        .withExposedPorts(5432)
        .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
        .start()
      stops.push(() => pg.stop())
      pgUrl = `postgres://floe:floe@${pg.getHost()}:${pg.getMappedPort(5432)}/floe`

      const garage = await new GenericContainer('dxflrs/garage:v2.1.0')
        .withCopyContentToContainer([
          {
            content: readFileSync(new URL('../../dev/garage.toml', import.meta.url)),
            target: '/etc/garage.toml',
          },
        ])
        .withExposedPorts(3900, 3903)
        .start()
      stops.push(() => garage.stop())
      s3Endpoint = `http://${garage.getHost()}:${garage.getMappedPort(3900)}`
      await bootstrapGarage({
        adminUrl: `http://${garage.getHost()}:${garage.getMappedPort(3903)}`,
        adminToken: 'floe-dev-garage-admin-token',
        bucket: 'floe',
        writer: WRITER,
        reader: READER,
        log: () => {},
      })
    }, 180_000)

    afterAll(async () => {
      for (const stop of stops.reverse()) await stop()
    })

    it('appends through the JDBC catalog into Garage and serves the table over REST', async () => {
      const sql = new PgSql(pgUrl)
      const s3 = { endpoint: s3Endpoint, region: 'garage', forcePathStyle: true }
      const io = new S3FileIO({
        ...s3,
        accessKeyId: WRITER.accessKeyId,
        secretAccessKey: WRITER.secretAccessKey,
        conditionalWrites: true,
      })
      const catalog = new JdbcCatalog({ sql, io, name: 'floe' })
      const warehouse = 's3://floe/product-analytics'
      const writer = createTableWriter({ catalog, io, namespace: ['analytics'], warehouse })
      const result = await writer.append('pa_events', [eventRow(0), eventRow(1)])

      const app = Fastify()
      await app.register(icebergRestPlugin, {
        prefix: '/iceberg',
        catalog,
        io,
        warehouse,
        readToken: 'docker-token',
        writeEnabled: false,
        s3: {
          bucket: 'floe',
          prefix: 'product-analytics/',
          ...s3,
          accessKeyId: WRITER.accessKeyId,
          secretAccessKey: WRITER.secretAccessKey,
        },
        readerS3: { accessKeyId: READER.accessKeyId, secretAccessKey: READER.secretAccessKey },
      })
      const base = await app.listen({ port: 0, host: '127.0.0.1' })
      try {
        const res = await fetch(`${base}/iceberg/v1/namespaces/analytics/tables/pa_events`, {
          headers: { authorization: 'Bearer docker-token' },
        })
        const body = (await res.json()) as { config: Record<string, string> }
        expect(body.config).toMatchObject({
          's3.endpoint': s3Endpoint,
          's3.access-key-id': READER.accessKeyId,
        })
        expect(body.config['s3.secret-access-key']).toBe(READER.secretAccessKey)
        const md = await new IcebergRestCatalog({
          baseUrl: `${base}/iceberg`,
          auth: { type: 'bearer', token: 'docker-token' },
        }).loadTable({
          namespace: ['analytics'],
          name: 'pa_events',
        })
        expect(String(md['current-snapshot-id'])).toHaveLength(String(result.snapshotId).length)
        // The reader key handed out really reads the table's files, and cannot write.
        const readerIo = new S3FileIO({
          ...s3,
          accessKeyId: READER.accessKeyId,
          secretAccessKey: READER.secretAccessKey,
          conditionalWrites: true,
        })
        const snap = (await catalog.loadTable({
          namespace: ['analytics'],
          name: 'pa_events',
        }))!.metadata.snapshots.at(-1)!
        expect((await readerIo.read(snap['manifest-list'])).length).toBeGreaterThan(0)
        await expect(readerIo.write(`${warehouse}/forbidden.txt`, new Uint8Array([1]))).rejects.toThrow()
      } finally {
        await app.close()
        await sql.close()
      }
    })
  },
)
