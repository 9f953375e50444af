import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  addedManifestFile,
  currentManifests,
  parseManifestList,
  writeManifestList,
  type ManifestFile,
} from '../../src/write/manifest-list.ts'
import { bindSpec } from '../../src/write/partition.ts'
import { writeAvroFile } from '../../src/write/avro.ts'
import { encodeBound } from '../../src/write/bounds.ts'
import { writeManifest, type DataFile } from '../../src/write/manifest.ts'
import type { TableMetadata } from '../../src/table/metadata.ts'
import { fileUri, LocalFileIO } from '../../src/storage/local.ts'
import { loadTableDefinition } from '../../src/write/table-definition.ts'
import { fieldIds, readWithPythonAvro } from './support/python-avro.ts'

const def = loadTableDefinition('pa_events')
const fields = bindSpec(def['partition-spec'], def.schema)
const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-mlist-'))
const BIG = 9_223_372_036_854_775_807n // Long.MAX_VALUE, a legal snapshot id
const PARENT = 4_598_286_611_352_242_701n

const file = (partition: (number | string | null)[], records: bigint): DataFile => ({
  filePath: 'x',
  specId: 0,
  partition,
  recordCount: records,
  fileSizeInBytes: 100n,
  columnSizes: new Map(),
  valueCounts: new Map(),
  nullValueCounts: new Map(),
  lowerBounds: new Map(),
  upperBounds: new Map(),
  splitOffsets: [4n],
})

/** The fields every v1 manifest list has (v1 leaves the counts optional). */
const V1_REQUIRED_FIELDS = [
  { name: 'manifest_path', type: 'string', 'field-id': 500 },
  { name: 'manifest_length', type: 'long', 'field-id': 501 },
  { name: 'partition_spec_id', type: 'int', 'field-id': 502 },
  { name: 'added_snapshot_id', type: ['null', 'long'], default: null, 'field-id': 503 },
]

const JAVA_IDS = {
  'manifest_file.manifest_path': 500,
  'manifest_file.manifest_length': 501,
  'manifest_file.partition_spec_id': 502,
  'manifest_file.content': 517,
  'manifest_file.sequence_number': 515,
  'manifest_file.min_sequence_number': 516,
  'manifest_file.added_snapshot_id': 503,
  'manifest_file.added_files_count': 504,
  'manifest_file.existing_files_count': 505,
  'manifest_file.deleted_files_count': 506,
  'manifest_file.added_rows_count': 512,
  'manifest_file.existing_rows_count': 513,
  'manifest_file.deleted_rows_count': 514,
  'manifest_file.partitions': 507,
  'r508.contains_null': 509,
  'r508.contains_nan': 518,
  'r508.lower_bound': 510,
  'r508.upper_bound': 511,
  'manifest_file.key_metadata': 519,
}

describe('manifest list Avro file (decoded by python3-avro)', () => {
  const added = addedManifestFile({
    path: 's3://b/t/metadata/new-m0.avro',
    length: 7000,
    specId: 0,
    snapshotId: BIG,
    fields,
    files: [file([20477, 'site-b'], 3n), file([20476, 'site-a'], 4n), file([20478, 'site-a'], 5n)],
    sequenceNumber: 8n,
  })
  const inherited: ManifestFile = {
    ...added,
    manifest_path: 's3://b/t/metadata/old-m0.avro',
    sequence_number: 3n,
    min_sequence_number: 3n,
    added_snapshot_id: PARENT,
  }
  const bytes = writeManifestList({
    snapshotId: BIG,
    parentSnapshotId: PARENT,
    sequenceNumber: 8n,
    manifests: [added, inherited],
  })
  const f = path.join(dir, 'snap.avro')
  writeFileSync(f, bytes)
  const py = readWithPythonAvro(f)

  it('has the ManifestListWriter.V2Writer header keys', () => {
    expect(py.meta['snapshot-id']).toBe(BIG.toString())
    expect(py.meta['parent-snapshot-id']).toBe(PARENT.toString())
    expect(py.meta['sequence-number']).toBe('8')
    expect(py.meta['format-version']).toBe('2')
    expect(py.meta['avro.codec']).toBe('deflate')
  })

  it('writes the literal "null" as parent of a first snapshot', () => {
    const first = writeManifestList({
      snapshotId: 1n,
      parentSnapshotId: undefined,
      sequenceNumber: 1n,
      manifests: [added],
    })
    writeFileSync(path.join(dir, 'first.avro'), first)
    expect(readWithPythonAvro(path.join(dir, 'first.avro')).meta['parent-snapshot-id']).toBe('null')
  })

  it("uses Java's record names and field ids", () => {
    expect(py.schema.name).toBe('manifest_file')
    expect(Object.fromEntries(fieldIds(py.schema))).toEqual(JAVA_IDS)
    expect(JSON.stringify(py.schema)).toContain('"element-id":508')
  })

  it('records counts, sequence numbers and partition summaries with spec-encoded bounds', () => {
    const [a, b] = py.records
    expect(a.manifest_path).toBe('s3://b/t/metadata/new-m0.avro')
    expect([a.content, a.sequence_number, a.min_sequence_number, a.added_snapshot_id]).toEqual([0, 8, 8, BIG])
    expect([a.added_files_count, a.added_rows_count, a.existing_files_count]).toEqual([3, 12, 0])
    const hex = (t: 'date' | 'string', v: number | string) => ({
      $hex: Buffer.from(encodeBound(t, v)).toString('hex'),
    })
    expect(a.partitions).toEqual([
      {
        contains_null: false,
        contains_nan: false,
        lower_bound: hex('date', 20476),
        upper_bound: hex('date', 20478),
      },
      {
        contains_null: false,
        contains_nan: false,
        lower_bound: hex('string', 'site-a'),
        upper_bound: hex('string', 'site-b'),
      },
    ])
    // the parent's manifest is carried unchanged
    expect([b.manifest_path, b.sequence_number, b.added_snapshot_id]).toEqual([
      's3://b/t/metadata/old-m0.avro',
      3,
      PARENT,
    ])
  })

  it('parses back to the same entries', () => {
    const back = parseManifestList(bytes)
    expect(
      back.map((m) => [m.manifest_path, m.sequence_number, m.added_snapshot_id, m.added_rows_count]),
    ).toEqual([
      [added.manifest_path, 8n, BIG, 12n],
      [inherited.manifest_path, 3n, PARENT, 12n],
    ])
  })

  it('reads a v1-style list (other field names, no sequence numbers) by field id', () => {
    const v1Schema = {
      type: 'record',
      name: 'manifest_file',
      fields: [
        ...V1_REQUIRED_FIELDS,
        { name: 'added_data_files_count', type: ['null', 'int'], default: null, 'field-id': 504 },
        { name: 'existing_data_files_count', type: ['null', 'int'], default: null, 'field-id': 505 },
        { name: 'deleted_data_files_count', type: ['null', 'int'], default: null, 'field-id': 506 },
      ],
    }
    const v1 = writeAvroFile(
      v1Schema,
      [
        {
          manifest_path: 'p',
          manifest_length: 10n,
          partition_spec_id: 0,
          added_snapshot_id: 5n,
          added_data_files_count: 2,
          existing_data_files_count: 1,
          deleted_data_files_count: 0,
        },
      ],
      { 'format-version': '1' },
    )
    const [m] = parseManifestList(v1)
    expect(m).toMatchObject({
      manifest_path: 'p',
      added_files_count: 2,
      existing_files_count: 1,
      sequence_number: 0n,
      content: 0,
    })
  })

  it('a v1 list without file/row counts: the counts come from the manifest, never 0', async () => {
    // Writing 0 would tell Java readers the manifest has no live files, and they would skip it.
    const manifestPath = path.join(dir, 'v1-m0.avro')
    writeFileSync(
      manifestPath,
      writeManifest({
        schema: def.schema,
        spec: def['partition-spec'],
        fields,
        snapshotId: 5n,
        files: [file([20477, 'a'], 3n), file([20478, 'b'], 4n)],
      }),
    )
    const listPath = path.join(dir, 'v1-list.avro')
    writeFileSync(
      listPath,
      writeAvroFile(
        { type: 'record', name: 'manifest_file', fields: V1_REQUIRED_FIELDS }, // no counts at all
        [
          {
            manifest_path: fileUri(manifestPath),
            manifest_length: 10n,
            partition_spec_id: 0,
            added_snapshot_id: 5n,
          },
        ],
        { 'format-version': '1' },
      ),
    )
    const metadata = {
      'current-snapshot-id': 5n,
      snapshots: [{ 'snapshot-id': 5n, 'manifest-list': fileUri(listPath) }],
    } as unknown as TableMetadata
    const [m] = await currentManifests(new LocalFileIO(), metadata)
    expect(m).toMatchObject({ added_files_count: 2, existing_files_count: 0, added_rows_count: 7n })
  })
})
