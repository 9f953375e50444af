/**
 * DataFile entries as JSON text, so a writer can hand staged files to a commit coordinator in
 * another process through a database row (src/log/commit-requests.ts). DataFile holds what JSON
 * has no type for (bigint counts and partition values, Map metrics, Uint8Array bounds); each is
 * written as a one-key tagged object and read back to the same type, so a decoded entry writes the
 * same manifest bytes as the original.
 */
import type { DataFile } from './manifest.ts'

type Tagged = { $n: string } | { $m: Array<[number, unknown]> } | { $b: string }

function replace(this: unknown, key: string, value: unknown): unknown {
  // `this[key]` is the raw value (JSON.stringify hands Maps and typed arrays to the replacer as is).
  const raw = (this as Record<string, unknown>)[key]
  if (typeof raw === 'bigint') return { $n: raw.toString() } satisfies Tagged
  if (raw instanceof Map) return { $m: [...raw] } satisfies Tagged
  if (raw instanceof Uint8Array) return { $b: Buffer.from(raw).toString('base64') } satisfies Tagged
  return value
}

function revive(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const o = value as Record<string, unknown>
  const keys = Object.keys(o)
  if (keys.length !== 1) return value
  if (typeof o.$n === 'string') return BigInt(o.$n)
  if (Array.isArray(o.$m)) return new Map(o.$m as Array<[number, unknown]>)
  if (typeof o.$b === 'string') return new Uint8Array(Buffer.from(o.$b, 'base64'))
  return value
}

export function dataFilesToJson(files: readonly DataFile[]): string {
  return JSON.stringify(files, replace)
}

export function dataFilesFromJson(text: string): DataFile[] {
  return JSON.parse(text, revive) as DataFile[]
}
