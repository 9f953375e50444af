/**
 * The settings as documented agree with the code: every variable `src/config.ts` reads is in
 * `.env.example` and in the README's settings table, neither lists one the code does not read, and
 * the values `.env.example` sets are the defaults (setting them changes nothing) and are the ones
 * the README's table gives. Read from the files themselves, so a setting added to the code alone
 * fails here.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { loadConfig } from '../../src/config.ts'

const source = readFileSync('src/config.ts', 'utf8')
const example = readFileSync('.env.example', 'utf8')
const readme = readFileSync('README.md', 'utf8')

/** The variables config.ts reads: every `str|int|bool|oneOf|list(env, 'NAME'` call. */
const codeNames = new Set(
  [...source.matchAll(/\b(?:str|int|bool|oneOf|list)\(env, '([A-Z0-9_]+)'/g)].map((m) => m[1]),
)

/** `.env.example`: `NAME=value` lines, and `# NAME=value` ones (documented, left unset). */
const exampleLines = [...example.matchAll(/^(#\s*)?([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => ({
  name: m[2],
  value: m[3].trim(),
  commented: m[1] !== undefined,
}))
/** Documented in `.env.example` but read by Node, not config.ts (`npm start` sets the heap bound). */
const NODE_VARIABLES = ['NODE_OPTIONS']
const exampleNames = new Set(exampleLines.map((l) => l.name).filter((n) => !NODE_VARIABLES.includes(n)))
/** The values `.env.example` sets (uncommented, non-empty): these must be the defaults. */
const exampleValues = new Map(
  exampleLines.filter((l) => !l.commented && l.value !== '').map((l) => [l.name, l.value]),
)

/** The README's settings table: rows `| \`A\`, \`B\` | defaults | meaning |` under `## Configuration`. */
const configSection = readme.slice(
  readme.indexOf('## Configuration'),
  readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1),
)
const readmeRows = [...configSection.matchAll(/^\| (`[A-Z][^|]*?) \|([^|]*)\|/gm)].map((m) => ({
  names: [...m[1].matchAll(/`([A-Z][A-Z0-9_]*\*?)`/g)].map((n) => n[1]),
  defaults: m[2].trim(),
}))
const readmePatterns = readmeRows.flatMap((r) => r.names)
const inReadme = (name: string) =>
  readmePatterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : p === name))

/** How the README may write a value: as it is, or bytes in MiB / GiB. */
function readmeForms(value: string): string[] {
  const forms = [value]
  if (/^\d+$/.test(value)) {
    const n = Number(value)
    forms.push(n.toLocaleString('en-US'))
    if (n >= 1024 ** 2 && n % 1024 ** 2 === 0 && n < 1024 ** 3) forms.push(`${n / 1024 ** 2} MiB`)
    if (n >= 1024 ** 3 && n % 1024 ** 3 === 0) forms.push(`${n / 1024 ** 3} GiB`)
  }
  return forms
}

describe('settings: src/config.ts, .env.example and the README agree', () => {
  it('reads the variables from config.ts (the extraction works)', () => {
    // The ones added last: if the pattern stopped matching, the checks below would pass on nothing.
    for (const n of ['FLOE_ROLE', 'FLOE_LOG', 'FLOE_NATS_URL', 'FLOE_KAFKA_BROKERS', 'FLOE_LOG_PARTITIONS'])
      expect(codeNames).toContain(n)
    expect(codeNames.size).toBeGreaterThan(90)
    expect(readmeRows.length).toBeGreaterThan(30)
  })

  it('.env.example lists exactly the variables config.ts reads', () => {
    expect([...codeNames].filter((n) => !exampleNames.has(n)).sort()).toEqual([])
    expect([...exampleNames].filter((n) => !codeNames.has(n)).sort()).toEqual([])
  })

  it("the README's settings table lists exactly the variables config.ts reads", () => {
    expect([...codeNames].filter((n) => !inReadme(n)).sort()).toEqual([])
    const unknown = readmePatterns.filter((p) =>
      p.endsWith('*') ? ![...codeNames].some((n) => n.startsWith(p.slice(0, -1))) : !codeNames.has(p),
    )
    expect(unknown).toEqual([])
  })

  it('.env.example sets only defaults: each of its values alone configures what no value does', () => {
    const defaults = loadConfig({}, '/srv/floe')
    const changed = [...exampleValues]
      .filter(([name, value]) => {
        const set = loadConfig({ [name]: value }, '/srv/floe')
        return JSON.stringify(set) !== JSON.stringify(defaults)
      })
      .map(([name, value]) => `${name}=${value}`)
    expect(changed).toEqual([])
  })

  it("the README's table gives the default .env.example sets, for every variable it gives one for", () => {
    const wrong: string[] = []
    for (const row of readmeRows) {
      // A cell with no value (unset, open) or notes only says nothing to compare.
      const cell = row.defaults.replaceAll('`', '')
      for (const name of row.names) {
        const value = exampleValues.get(name)
        if (value === undefined) continue
        if (!readmeForms(value).some((f) => new RegExp(`(^|[\\s,(])${escape(f)}($|[\\s,;)])`).test(cell)))
          wrong.push(`${name}: .env.example ${value}, README "${row.defaults}"`)
      }
    }
    expect(wrong).toEqual([])
  })
})

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}
