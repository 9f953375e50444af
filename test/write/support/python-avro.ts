/**
 * Decode an Avro container file with an independent reader: Debian's python3-avro
 * (`/usr/bin/python3`; the pyenv `python3` on PATH lacks it). Returns the header metadata, the raw
 * `avro.schema` JSON and the records, with bytes as hex and 64-bit integers exact (bigint).
 */
import { execFileSync } from 'node:child_process'
import { parseJson } from '../../../src/table/json.ts'

const SCRIPT = `
import sys, json, datetime, warnings
warnings.simplefilter('ignore')
import avro.datafile, avro.io
def conv(v):
    if isinstance(v, (bytes, bytearray)): return {'$hex': v.hex()}
    if isinstance(v, datetime.date): return {'$date': v.isoformat()}
    if isinstance(v, dict): return {k: conv(x) for k, x in v.items()}
    if isinstance(v, list): return [conv(x) for x in v]
    return v
r = avro.datafile.DataFileReader(open(sys.argv[1], 'rb'), avro.io.DatumReader())
meta = {k: v.decode('utf-8') for k, v in r.meta.items()}
print(json.dumps({'meta': meta, 'records': [conv(x) for x in r]}))
`

export interface PythonAvroFile {
  meta: Record<string, string>
  schema: Record<string, unknown>
  records: Record<string, unknown>[]
}

export function readWithPythonAvro(file: string): PythonAvroFile {
  const out = execFileSync('/usr/bin/python3', ['-c', SCRIPT, file], { encoding: 'utf8' })
  const parsed = parseJson(out, new Set()) as {
    meta: Record<string, string>
    records: Record<string, unknown>[]
  }
  return { ...parsed, schema: JSON.parse(parsed.meta['avro.schema']) as Record<string, unknown> }
}

/** Every (record name, field name → field-id) pair in an Avro schema, for comparison with Java's. */
export function fieldIds(
  schema: unknown,
  out = new Map<string, number | undefined>(),
  prefix = '',
): Map<string, number | undefined> {
  if (Array.isArray(schema)) schema.forEach((s) => fieldIds(s, out, prefix))
  else if (schema && typeof schema === 'object') {
    const s = schema as Record<string, unknown>
    if (s.type === 'record') {
      for (const f of s.fields as Record<string, unknown>[]) {
        out.set(`${s.name as string}.${f.name as string}`, f['field-id'] as number | undefined)
        fieldIds(f.type, out)
      }
    } else if (s.type === 'array') fieldIds(s.items, out)
  }
  return out
}
