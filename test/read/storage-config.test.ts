/** What load-table hands readers about storage: never Floe's own S3 key. */
import { describe, expect, it } from 'vitest'
import type { S3Config } from '../../src/config.ts'
import { readerStorageConfig } from '../../src/read/storage-config.ts'
import { childNamespaces, decodeNamespace, namespaceExists } from '../../src/read/namespace.ts'

const s3: S3Config = {
  bucket: 'floe',
  prefix: 'product-analytics/',
  endpoint: 'http://garage:3900',
  region: 'garage',
  forcePathStyle: true,
  accessKeyId: 'FLOE-WRITER-KEY',
  secretAccessKey: 'FLOE-WRITER-SECRET',
}

describe('readerStorageConfig', () => {
  it('gives endpoint, region and path style but not Floe’s own keys', () => {
    const config = readerStorageConfig({ s3 })
    expect(config).toEqual({
      'client.region': 'garage',
      's3.region': 'garage',
      's3.path-style-access': 'true',
      's3.endpoint': 'http://garage:3900',
    })
    expect(JSON.stringify(config)).not.toContain('FLOE-WRITER')
  })

  it('uses the reader endpoint and reader keys when configured', () => {
    const config = readerStorageConfig({
      s3,
      endpoint: 'http://localhost:3900',
      accessKeyId: 'R',
      secretAccessKey: 'S',
    })
    expect(config).toMatchObject({
      's3.endpoint': 'http://localhost:3900',
      's3.access-key-id': 'R',
      's3.secret-access-key': 'S',
    })
  })

  it('is empty for a local-folder warehouse', () => {
    expect(readerStorageConfig({})).toEqual({})
  })
})

describe('namespaces in REST paths', () => {
  const all = [['analytics'], ['accounting', 'tax', 'paid'], ['accounting', 'tax', 'due']]
  it('decodes %1F-joined levels and lists direct children only', () => {
    expect(decodeNamespace('accounting\x1ftax')).toEqual(['accounting', 'tax'])
    expect(childNamespaces(all, [])).toEqual([['analytics'], ['accounting']])
    expect(childNamespaces(all, ['accounting'])).toEqual([['accounting', 'tax']])
    expect(childNamespaces(all, ['accounting', 'tax'])).toEqual([
      ['accounting', 'tax', 'paid'],
      ['accounting', 'tax', 'due'],
    ])
    expect(namespaceExists(all, ['accounting', 'tax'])).toBe(true)
    expect(namespaceExists(all, ['tax'])).toBe(false)
  })
})
