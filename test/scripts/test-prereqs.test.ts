/**
 * `npm test`'s pretest (scripts/test-prereqs.sh) on a machine that lacks the Debian packages the
 * suite needs: it installs them when it can (root with apt-get) and otherwise fails at once with
 * one message naming what is missing and the install command; never a silent pass.
 * "Fresh" is simulated with stubs on PATH (`id`, `apt-get`) and a stub python3 and chromium whose
 * modules exist only once the stub apt-get "installed" their package; PostgreSQL is the real one.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { PG_ADMIN_URL } from '../support/pg.ts'

const SCRIPT = path.resolve('scripts/test-prereqs.sh')
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

interface Machine {
  uid: number
  /** Debian packages present before the run. */
  installed: string[]
  /** The stub apt-get's exit status for `install`. */
  aptFails?: boolean
  pgUrl?: string
  noInstall?: boolean
}

function run(m: Machine): { status: number | null; stderr: string; aptCalls: string[]; installed: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'floe-prereqs-'))
  dirs.push(dir)
  const bin = path.join(dir, 'bin')
  const pkgs = path.join(dir, 'installed')
  mkdirSync(bin)
  mkdirSync(pkgs)
  const exe = (name: string, body: string) => {
    writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${body}\n`)
    chmodSync(path.join(bin, name), 0o755)
  }
  const install = (p: string) => {
    writeFileSync(path.join(pkgs, p), '')
    if (p === 'chromium') exe('chromium', 'exit 0')
  }
  m.installed.forEach(install)
  exe('id', `[ "$1" = -u ] && echo ${m.uid}`)
  // The stub python3 imports module X only if python3-X is "installed".
  exe('python3', `mod="\${2#import }"; [ -e "${pkgs}/python3-$mod" ]`)
  exe(
    'apt-get',
    `echo "$*" >> "${dir}/apt.log"
[ "$1" = install ] || exit 0
${m.aptFails ? 'exit 100' : ''}
for p in "$@"; do case "$p" in -*|install) ;; chromium) touch "${pkgs}/chromium"; printf '#!/bin/sh\\nexit 0\\n' > "${bin}/chromium"; chmod +x "${bin}/chromium" ;; *) touch "${pkgs}/$p" ;; esac; done`,
  )
  const r = spawnSync('bash', [SCRIPT], {
    encoding: 'utf8',
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      FLOE_TEST_PYTHON: path.join(bin, 'python3'),
      FLOE_TEST_CHROMIUM: path.join(bin, 'chromium'),
      FLOE_TEST_PG_URL: m.pgUrl ?? PG_ADMIN_URL,
      ...(m.noInstall ? { FLOE_TEST_NO_INSTALL: '1' } : {}),
    },
  })
  const log = path.join(dir, 'apt.log')
  return {
    status: r.status,
    stderr: r.stderr,
    aptCalls: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [],
    installed: ['python3-avro', 'python3-snappy', 'python3-zstandard', 'chromium'].filter((p) =>
      existsSync(path.join(pkgs, p)),
    ),
  }
}

const ALL = ['python3-avro', 'python3-snappy', 'python3-zstandard', 'chromium']

describe('npm test prerequisites (pretest)', () => {
  it('runs before every `npm test`, and .ci/run is just the README set-up and test commands (core, then engines)', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }
    expect(pkg.scripts.pretest).toBe('bash scripts/test-prereqs.sh')
    const ci = readFileSync('.ci/run', 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#'))
    expect(ci.slice(-3)).toEqual(['npm ci --no-audit --no-fund', 'npm test', 'npm run test:engines'])
    expect(pkg.scripts['pretest:engines']).toBe('bash scripts/engines-prereqs.sh')
    expect(ci.join('\n')).not.toMatch(/apt-get|pg_ctlcluster/)
  })

  it('passes without touching apt when everything is there', () => {
    const r = run({ uid: 0, installed: ALL })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.aptCalls).toEqual([])
  })

  it('as root with apt-get: installs exactly the missing packages, then passes', () => {
    const r = run({ uid: 0, installed: ['python3-snappy'] })
    expect(r.status).toBe(0)
    expect(r.aptCalls).toEqual(['update -qq', 'install -y -qq python3-avro python3-zstandard chromium'])
    expect(r.installed).toEqual(ALL)
    expect(r.stderr).toMatch(/installing missing Debian packages: python3-avro python3-zstandard chromium/)
  })

  it('without root: fails at once, naming every missing package and the command to install them', () => {
    const r = run({ uid: 1000, installed: ['chromium'] })
    expect(r.status).toBe(1)
    expect(r.aptCalls).toEqual([])
    expect(r.stderr).toBe(
      'npm test: missing Debian packages the tests need: python3-avro python3-snappy python3-zstandard\n' +
        '  install them with: sudo apt-get update && sudo apt-get install -y python3-avro python3-snappy python3-zstandard\n',
    )
  })

  it('FLOE_TEST_NO_INSTALL=1 only reports, even as root', () => {
    const r = run({ uid: 0, installed: [], noInstall: true })
    expect(r.status).toBe(1)
    expect(r.aptCalls).toEqual([])
    expect(r.stderr).toMatch(
      /missing Debian packages the tests need: python3-avro python3-snappy python3-zstandard chromium/,
    )
  })

  it('an apt-get that fails is an error naming the packages, not a pass', () => {
    const r = run({ uid: 0, installed: ALL.slice(0, 3), aptFails: true })
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(
      /apt-get could not install: chromium \(run: apt-get update && apt-get install -y chromium\)/,
    )
  })

  it('no PostgreSQL where the tests look: fails naming the address and FLOE_TEST_PG_URL', () => {
    const r = run({ uid: 1000, installed: ALL, pgUrl: 'postgres://postgres@127.0.0.1:1/postgres' })
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/no PostgreSQL at 127\.0\.0\.1:1 .*\n.*FLOE_TEST_PG_URL/)
  })
})
