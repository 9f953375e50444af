/**
 * The import graph of `src/` has no cycles: neither between files nor between folders (stages).
 * Imports flow receive → enrich → buffer → write → table (the commit core) ← commit (catalogs);
 * read and maintenance build on the same core. The graph is read from the source text (static
 * `import … from`, `export … from` and dynamic `import('…')`, type-only imports included, since a
 * type cycle is still a design cycle), so the test needs no build and no extra tool.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = path.resolve(import.meta.dirname, '../../src')
const SPEC = /(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => path.join(d.parentPath, d.name))
}

/** file (relative to src) → the src files it imports. */
export function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8')
    const deps: string[] = []
    for (const m of text.matchAll(SPEC)) {
      const spec = m[1] ?? m[2]
      if (!spec.startsWith('.')) continue
      deps.push(path.relative(SRC, path.resolve(path.dirname(file), spec)))
    }
    graph.set(path.relative(SRC, file), deps)
  }
  return graph
}

/** One cycle of `graph` (as a path that starts and ends at the same node), or undefined. */
export function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 1 | 2>() // 1 = on the stack, 2 = done
  const stack: string[] = []
  const visit = (n: string): string[] | undefined => {
    state.set(n, 1)
    stack.push(n)
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === 1) return [...stack.slice(stack.indexOf(d)), d]
      if (state.get(d) === undefined) {
        const c = visit(d)
        if (c) return c
      }
    }
    stack.pop()
    state.set(n, 2)
    return undefined
  }
  for (const n of graph.keys())
    if (state.get(n) === undefined) {
      const c = visit(n)
      if (c) return c
    }
  return undefined
}

/** Folder → folders its files import (files directly in src/ count as the folder "."). */
function folderGraph(files: Map<string, string[]>): Map<string, string[]> {
  const folder = (f: string) => (f.includes(path.sep) ? f.slice(0, f.indexOf(path.sep)) : '.')
  const out = new Map<string, Set<string>>()
  for (const [f, deps] of files) {
    const from = folder(f)
    const set = out.get(from) ?? new Set<string>()
    for (const d of deps) if (folder(d) !== from) set.add(folder(d))
    out.set(from, set)
  }
  return new Map([...out].map(([k, v]) => [k, [...v]]))
}

describe('src/ import graph', () => {
  const files = importGraph()

  it('finds the imports (the parser sees the known edges)', () => {
    expect(files.get(path.join('write', 'append.ts'))).toContain(path.join('table', 'commit.ts'))
    expect(files.get(path.join('commit', 'index.ts'))).toContain(path.join('commit', 'jdbc.ts')) // dynamic
  })

  it('has no cycle between files', () => {
    expect(findCycle(files)).toBeUndefined()
  })

  it('has no cycle between folders (stages), except through the shared top-level files', () => {
    // src/*.ts (config, errors, rows, app, main) are shared by every stage; app.ts/main.ts wire
    // the stages together, so the top level is left out of the folder check.
    const folders = folderGraph(files)
    folders.delete('.')
    for (const [k, v] of folders)
      folders.set(
        k,
        v.filter((d) => d !== '.'),
      )
    expect(findCycle(folders)).toBeUndefined()
  })

  it('the commit core (src/table) imports no stage but storage', () => {
    const outside = [...files]
      .filter(([f]) => f.startsWith('table' + path.sep))
      .flatMap(([, deps]) => deps.filter((d) => !d.startsWith('table' + path.sep)))
    expect(outside.filter((d) => !d.startsWith('storage' + path.sep) && d.includes(path.sep))).toEqual([])
  })

  it('a planted cycle is found (the check can fail)', () => {
    const g = new Map([...files].filter(([f]) => f.startsWith('table' + path.sep)))
    g.set('x.ts', ['y.ts'])
    g.set('y.ts', ['x.ts'])
    expect(findCycle(g)).toEqual(expect.arrayContaining(['x.ts', 'y.ts']))
  })
})
