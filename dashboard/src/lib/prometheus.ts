/**
 * Reads Prometheus' text exposition format (what `GET /metrics` answers) into samples. Only what
 * the Ops page needs: name, labels, value; comments and histogram buckets are kept as samples too.
 */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = LINE.exec(line)
    if (!m) continue
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(LABEL))
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    out.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return out
}

/** Sum of a metric's samples, optionally grouped by one label. */
export function sumBy(samples: Sample[], name: string, label?: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const s of samples) {
    if (s.name !== name) continue
    const key = label ? (s.labels[label] ?? '') : ''
    out.set(key, (out.get(key) ?? 0) + s.value)
  }
  return out
}

export function total(samples: Sample[], name: string): number {
  return sumBy(samples, name).get('') ?? 0
}
