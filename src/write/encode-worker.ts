/**
 * Worker-thread entry of the encoder pool (encoder-pool.ts): one task = one append's encoding.
 * The Parquet files go back as transferred buffers (moved, not copied). Only buffers a file owns
 * whole are moved: a view into a shared ArrayBuffer (Node's small-Buffer pool, say) is copied
 * instead, since moving it would detach its neighbours.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina'
import { encodeAppend, type EncodeInput } from './encode-append.ts'

export default function encode(input: EncodeInput): object {
  const out = encodeAppend(input)
  const owned = (b: Uint8Array) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength
  const moved = new Set<ArrayBuffer>()
  for (const b of [out.manifest, ...out.dataFiles.map((d) => d.bytes)])
    if (owned(b) && b.buffer instanceof ArrayBuffer) moved.add(b.buffer)
  return move({
    get [transferableSymbol]() {
      return [...moved]
    },
    get [valueSymbol]() {
      return out
    },
  })
}
