/**
 * The Kubernetes manifests under deploy/k8s (docs/deploy.md) are valid without a cluster: each
 * document is checked with ajv against the required structure of its kind (the fields the API
 * server's OpenAPI schema requires for apps/v1 Deployment, v1 Service and v1 ConfigMap, with the
 * types it gives them), and against Floe itself: every env variable is one src/config.ts reads, the
 * roles are valid FLOE_ROLE values, the Service selects the receiver pods only, probes hit Floe's
 * health routes, and the config parses with loadConfig for each role.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { Ajv } from 'ajv'
import { loadConfig } from '../../src/config.ts'

const DIR = path.resolve(import.meta.dirname, '../../deploy/k8s')

const name = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 }
const labels = { type: 'object', additionalProperties: { type: 'string' } }
const metadata = {
  type: 'object',
  required: ['name'],
  properties: { name, labels, namespace: name },
}
const port = { anyOf: [{ type: 'integer', minimum: 1, maximum: 65535 }, name] }
const probe = {
  type: 'object',
  required: ['httpGet'],
  properties: {
    httpGet: { type: 'object', required: ['path', 'port'], properties: { path: { type: 'string' }, port } },
    periodSeconds: { type: 'integer', minimum: 1 },
  },
}
const container = {
  type: 'object',
  required: ['name', 'image'],
  properties: {
    name,
    image: { type: 'string', minLength: 1 },
    env: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string' }, value: { type: 'string' } },
        additionalProperties: false,
      },
    },
    envFrom: { type: 'array' },
    ports: {
      type: 'array',
      items: {
        type: 'object',
        required: ['containerPort'],
        properties: { name, containerPort: { type: 'integer', minimum: 1, maximum: 65535 } },
      },
    },
    readinessProbe: probe,
    livenessProbe: probe,
    resources: { type: 'object' },
    volumeMounts: { type: 'array' },
  },
  additionalProperties: false,
}
const SCHEMAS: Record<string, object> = {
  'apps/v1/Deployment': {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      metadata,
      spec: {
        type: 'object',
        required: ['selector', 'template'],
        properties: {
          replicas: { type: 'integer', minimum: 0 },
          selector: { type: 'object', required: ['matchLabels'], properties: { matchLabels: labels } },
          template: {
            type: 'object',
            required: ['metadata', 'spec'],
            properties: {
              metadata: { type: 'object', required: ['labels'], properties: { labels } },
              spec: {
                type: 'object',
                required: ['containers'],
                properties: {
                  containers: { type: 'array', minItems: 1, items: container },
                  terminationGracePeriodSeconds: { type: 'integer', minimum: 0 },
                  volumes: { type: 'array' },
                },
              },
            },
          },
        },
      },
    },
  },
  'v1/Service': {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      metadata,
      spec: {
        type: 'object',
        required: ['selector', 'ports'],
        properties: {
          type: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] },
          selector: labels,
          ports: {
            type: 'array',
            minItems: 1,
            items: { type: 'object', required: ['port'], properties: { port, targetPort: port, name } },
          },
        },
      },
    },
  },
  'v1/ConfigMap': {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'data'],
    properties: { metadata, data: { type: 'object', additionalProperties: { type: 'string' } } },
  },
}

type Doc = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

function documents(): Doc[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(DIR, f), 'utf8')).map((d) => {
        expect(d.errors, f).toEqual([])
        return d.toJS() as Doc
      }),
    )
}

/** Every variable src/config.ts reads (`env, 'NAME'`). */
function configVariables(): Set<string> {
  const text = readFileSync(path.resolve(import.meta.dirname, '../../src/config.ts'), 'utf8')
  return new Set([...text.matchAll(/env, '([A-Z0-9_]+)'/g)].map((m) => m[1]))
}

describe('deploy/k8s manifests', () => {
  const docs = documents()
  const ajv = new Ajv({ allErrors: true, strict: false })

  it('each document is a Deployment, Service or ConfigMap with the fields Kubernetes requires', () => {
    expect(docs.length).toBe(4)
    for (const d of docs) {
      const schema = SCHEMAS[`${d.apiVersion}/${d.kind}`]
      expect(schema, `${d.apiVersion}/${d.kind}`).toBeDefined()
      const validate = ajv.compile(schema)
      expect(validate(d), JSON.stringify(validate.errors)).toBe(true)
    }
  })

  it('a schema error is caught (the check can fail)', () => {
    const bad = structuredClone(docs.find((d) => d.kind === 'Deployment')!)
    delete bad.spec.template.spec.containers[0].image
    expect(ajv.compile(SCHEMAS['apps/v1/Deployment'])(bad)).toBe(false)
  })

  it('selectors match their pod labels; the Service selects receivers only', () => {
    const deployments = docs.filter((d) => d.kind === 'Deployment')
    for (const d of deployments)
      expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels)
    const service = docs.find((d) => d.kind === 'Service')!
    const selected = deployments.filter((d) =>
      Object.entries(service.spec.selector as Record<string, string>).every(
        ([k, v]) => d.spec.template.metadata.labels[k] === v,
      ),
    )
    expect(selected.map((d) => d.metadata.name)).toEqual(['floe-receiver'])
    const ports = selected[0].spec.template.spec.containers[0].ports.map((p: Doc) => p.name)
    expect(ports).toContain(service.spec.ports[0].targetPort)
  })

  it('env names are Floe settings, roles are valid, and the config loads for each role', () => {
    const known = configVariables()
    const config = docs.find((d) => d.kind === 'ConfigMap')!.data as Record<string, string>
    for (const k of Object.keys(config)) expect(known, k).toContain(k)
    const partitions = Number(config.FLOE_LOG_PARTITIONS)
    const roles: string[] = []
    for (const d of docs.filter((x) => x.kind === 'Deployment')) {
      const c = d.spec.template.spec.containers[0]
      const env = Object.fromEntries((c.env as Doc[]).map((e) => [e.name, e.value as string]))
      for (const k of Object.keys(env)) expect(known, k).toContain(k)
      roles.push(env.FLOE_ROLE)
      expect(c.readinessProbe.httpGet.path).toBe('/readyz')
      expect(c.livenessProbe.httpGet.path).toBe('/healthz')
      // The secret's values are the operator's; stand-ins make the rest loadable here.
      const loaded = loadConfig({
        ...config,
        ...env,
        DATABASE_URL: 'postgres://floe@db/floe',
        APP_SECRET: 'x',
      })
      expect(loaded.role).toBe(env.FLOE_ROLE)
      expect(loaded.log.kind).toBe('nats')
      if (env.FLOE_ROLE === 'writer') expect(d.spec.replicas).toBeLessThanOrEqual(partitions)
    }
    expect(roles.sort()).toEqual(['receiver', 'writer'])
  })
})
