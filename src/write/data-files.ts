/**
 * The once-per-append stage: encode the data files and their manifest (encode-append.ts, on this
 * thread or a worker's), upload all data files, then the manifest listing them. Everything here is
 * independent of the table's current snapshot, so commit retries reuse it unchanged.
 */
import type { FileIO } from '../storage/file-io.ts'
import type { DataFile } from './manifest.ts'
import { inlineEncoder, type AppendEncoder, type EncodeInput } from './encode-append.ts'

export interface StagedAppend {
  files: DataFile[]
  manifestPath: string
  manifestLength: number
  /** Every URI written, for cleanup after a definite failure. */
  written: string[]
}

/** Upload all `uris`→bytes; on any failure delete the ones that made it and rethrow. */
async function writeAll(io: FileIO, items: { uri: string; bytes: Uint8Array }[]): Promise<void> {
  const results = await Promise.allSettled(items.map((it) => io.write(it.uri, it.bytes)))
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (!failed) return
  await deleteAll(
    io,
    items.filter((_, i) => results[i].status === 'fulfilled').map((it) => it.uri),
  )
  throw failed.reason
}

/** Best-effort delete (used only when the files are certainly not referenced by any snapshot). */
export async function deleteAll(io: FileIO, uris: readonly string[]): Promise<void> {
  await Promise.allSettled(uris.map((u) => io.delete(u)))
}

/** Encode (on `encoder`, by default this thread) and upload the data files and the manifest of one append. */
export async function stageAppend(
  io: FileIO,
  input: EncodeInput,
  encoder: AppendEncoder = inlineEncoder,
): Promise<StagedAppend> {
  const { dataFiles, manifestPath, manifest } = await encoder.encode(input)
  await writeAll(io, dataFiles)
  const files = dataFiles.map((e) => e.file)
  const written = dataFiles.map((e) => e.uri)
  try {
    await io.write(manifestPath, manifest)
  } catch (err) {
    await deleteAll(io, written)
    throw err
  }
  return { files, manifestPath, manifestLength: manifest.byteLength, written: [...written, manifestPath] }
}

/**
 * The data files of one append only (a commit coordinator writes the manifest when it commits
 * them, src/log/commit-coordinator.ts). The encoder still produces a manifest, a few hundred bytes
 * per file: it is dropped rather than giving the encoder a second shape.
 */
export async function stageDataFiles(
  io: FileIO,
  input: EncodeInput,
  encoder: AppendEncoder = inlineEncoder,
): Promise<StagedAppend> {
  const { dataFiles } = await encoder.encode(input)
  await writeAll(io, dataFiles)
  return {
    files: dataFiles.map((e) => e.file),
    manifestPath: '',
    manifestLength: 0,
    written: dataFiles.map((e) => e.uri),
  }
}
