/**
 * Which partition a key (a site id) goes to: FNV-1a (32 bit) of its UTF-8 bytes mod the count.
 * Stable across processes and versions, so one site's events always land in one partition and stay
 * in order there. (Kafka's client brings its own partitioner, murmur2; this one is for logs without.)
 */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5
  for (const b of Buffer.from(key, 'utf8')) {
    h ^= b
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h % partitions
}
