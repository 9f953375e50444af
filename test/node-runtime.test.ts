/**
 * Floe needs Node 24 (the current LTS; Node 20 reached end of life in April 2026). The machines
 * here have an older system Node, so the `node` devDependency brings Node 24 from the npm registry
 * and npm puts `node_modules/.bin` first on PATH for every script: `npm test`, `npm start`,
 * `npm run test:engines`, and `npx`. These tests fail if the suite runs on anything older.
 */
import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const major = (version: string): number => Number(/^v?(\d+)\./.exec(version)?.[1])
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  engines: { node: string }
  devDependencies: Record<string, string>
}

describe('Node.js runtime', () => {
  it('the test runner itself runs on Node >= 24', () => {
    console.log(`vitest runs on Node ${process.version} (${process.execPath})`)
    expect(major(process.version)).toBeGreaterThanOrEqual(24)
  })

  it('`node` on PATH (what npm scripts and tools start) is Node >= 24', () => {
    const version = execFileSync('node', ['-p', 'process.version'], { encoding: 'utf8' }).trim()
    expect(major(version)).toBeGreaterThanOrEqual(24)
  })

  it('package.json asks for Node >= 24 and pins the node package that brings it', () => {
    expect(pkg.engines.node).toBe('>=24')
    expect(major(pkg.devDependencies.node ?? '')).toBeGreaterThanOrEqual(24)
  })

  it('has the Node 24 features Floe relies on', () => {
    // JSON.parse's reviver gets the source text of primitives, JSON.rawJSON writes raw numbers.
    const seen: string[] = []
    JSON.parse(
      '{"id":9007199254740993}',
      function (this: unknown, _k: string, v: unknown, ctx?: { source?: string }) {
        if (typeof v === 'number') seen.push(ctx?.source ?? '')
        return v
      },
    )
    expect(seen).toEqual(['9007199254740993'])
    expect(
      JSON.stringify({
        id: (JSON as unknown as { rawJSON(s: string): unknown }).rawJSON('9007199254740993'),
      }),
    ).toBe('{"id":9007199254740993}')
  })
})
