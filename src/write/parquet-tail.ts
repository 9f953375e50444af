/**
 * The end of a Parquet file as it streams out, for its footer: a file's metrics are read from the
 * footer only (`fileMetrics`), so a streamed write (compaction) keeps just the last chunks instead
 * of the whole file. Older chunks are dropped while what remains is at least `keepBytes`; the
 * last chunk is always kept, and arrow-rs emits the footer whole in the final chunk, so the
 * footer is always there (and `footer()` says so loudly if a writer ever behaves otherwise).
 */
import { FloeError } from '../errors.ts'

export const PARQUET_TAIL_KEEP_BYTES = 1024 * 1024

export class ParquetTail {
  readonly #keepBytes: number
  #chunks: Uint8Array[] = []
  #kept = 0
  /** Bytes seen so far: the file's size once the stream is done. */
  size = 0

  constructor(keepBytes = PARQUET_TAIL_KEEP_BYTES) {
    this.#keepBytes = keepBytes
  }

  /** Passes `chunks` through, remembering the tail. */
  async *observe(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunks) {
      this.#chunks.push(chunk)
      this.#kept += chunk.byteLength
      this.size += chunk.byteLength
      while (this.#chunks.length > 1 && this.#kept - this.#chunks[0].byteLength >= this.#keepBytes)
        this.#kept -= this.#chunks.shift()!.byteLength
      yield chunk
    }
  }

  /** The footer with its length and magic (what `fileMetrics` reads), from the kept tail. */
  footer(): Uint8Array {
    const tail = Buffer.concat(this.#chunks)
    const magic = tail.byteLength >= 8 ? tail.toString('latin1', tail.byteLength - 4) : ''
    if (magic !== 'PAR1') throw new FloeError('streamed Parquet file does not end with a footer')
    const length = tail.readUInt32LE(tail.byteLength - 8)
    if (length + 8 > tail.byteLength)
      throw new FloeError(
        `Parquet footer of ${length} bytes is longer than the ${tail.byteLength} bytes kept of the file`,
      )
    return tail.subarray(tail.byteLength - length - 8)
  }
}
