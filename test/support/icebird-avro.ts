/**
 * icebird inflates Avro `deflate` blocks with hyparquet-compressors' `gunzip` (1.1.1, also 1.1.2,
 * the newest), which is wrong on valid input: it reserves 128 KiB of output per deflate block and
 * then grows its buffer only for back-references, so a literal that lands exactly on the end of the
 * buffer is written out of bounds (silently dropped by the typed array) and reads back as 0.
 * Minimal reproduction: `gunzip(deflateRawSync('a' × 131072 + 'Z' + 'a' × 1000))` returns 0 at
 * byte 131072. It needs one Avro block to inflate to more than 128 KiB with a literal on a
 * power-of-two boundary, so it hits merged manifests of a few hundred entries now and then (the
 * random UUIDs in file paths decide): icebird then decodes shifted bytes and throws
 * `RangeError: Invalid typed array length: -7` or `unsupported type: undefined`. Its stored-block
 * path is broken too (`gunzip(deflateRawSync(x, { level: 0 }))` throws for any x), so the file
 * cannot be re-deflated into a form it reads either.
 *
 * Workaround in the test reader (the files are valid: python3-avro, Iceberg Java and Floe read
 * them): the fetch shims hand icebird each Avro container with its blocks inflated by Node's zlib
 * and the header's `avro.codec` set to `null`. icebird still parses the container, the schema and
 * every record itself; only inflating is not its own. The framing is re-checked here (magic, sync
 * marker after every block), so a broken file still fails.
 */
import { inflateRawSync } from 'node:zlib'

const MAGIC = [0x4f, 0x62, 0x6a, 0x01] // "Obj\x01"

/** Zig-zag varint `long` as a JS number: sizes and counts here stay far below 2^53. */
function readLong(buf: Uint8Array, pos: { at: number }): number {
  let n = 0
  let scale = 1
  for (;;) {
    if (pos.at >= buf.length) throw new Error('Avro: truncated varint')
    const b = buf[pos.at++]
    n += (b & 0x7f) * scale
    if (b < 0x80) break
    scale *= 128
  }
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2
}

function long(v: number): Uint8Array {
  const out: number[] = []
  let n = v >= 0 ? v * 2 : -v * 2 - 1
  while (n >= 0x80) {
    out.push((n % 128) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Uint8Array.from(out)
}

function readBytes(buf: Uint8Array, pos: { at: number }): Uint8Array {
  const len = readLong(buf, pos)
  if (len < 0 || pos.at + len > buf.length) throw new Error('Avro: bad length')
  const b = buf.subarray(pos.at, pos.at + len)
  pos.at += len
  return b
}

/**
 * The same Avro object container with every `deflate` block inflated and `avro.codec` = `null`;
 * anything that is not a deflate container is returned as it is.
 */
export function inflateAvroBlocks(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 4 || MAGIC.some((m, i) => bytes[i] !== m)) return bytes
  const pos = { at: 4 }
  const meta: [Uint8Array, Uint8Array][] = []
  for (let count = readLong(bytes, pos); count !== 0; count = readLong(bytes, pos)) {
    if (count < 0) {
      count = -count
      readLong(bytes, pos) // the block's byte size
    }
    for (let i = 0; i < count; i++) meta.push([readBytes(bytes, pos), readBytes(bytes, pos)])
  }
  const codec = meta.find(([k]) => Buffer.from(k).toString('utf8') === 'avro.codec')
  if (!codec || Buffer.from(codec[1]).toString('utf8') !== 'deflate') return bytes
  const sync = bytes.subarray(pos.at, pos.at + 16)
  pos.at += 16

  const parts: Uint8Array[] = [Uint8Array.from(MAGIC), long(meta.length)]
  for (const [k, v] of meta) {
    const value = k === codec[0] ? Buffer.from('null', 'utf8') : v
    parts.push(long(k.length), k, long(value.length), value)
  }
  parts.push(long(0), sync)
  while (pos.at < bytes.length) {
    const count = readLong(bytes, pos)
    const block = readBytes(bytes, pos)
    const marker = bytes.subarray(pos.at, pos.at + 16)
    pos.at += 16
    if (!Buffer.from(marker).equals(Buffer.from(sync))) throw new Error('Avro: sync marker mismatch')
    const data = inflateRawSync(block)
    parts.push(long(count), long(data.length), data, sync)
  }
  return Buffer.concat(parts)
}

/**
 * Wraps a fetch so whole-object GETs of `.avro` files come back with their blocks inflated
 * (`inflateAvroBlocks`); everything else passes through untouched.
 */
export function inflatingAvroFetch(inner: typeof fetch): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const res = await inner(input, init)
    const whole = (init?.method ?? 'GET') === 'GET' && !new Headers(init?.headers).has('range')
    if (!whole || res.status !== 200 || !/\.avro(\?.*)?$/.test(url)) return res
    const body = inflateAvroBlocks(new Uint8Array(await res.arrayBuffer()))
    return new Response(body, {
      status: 200,
      headers: { 'content-length': String(body.byteLength) },
    })
  }) as typeof fetch
}
