/**
 * Headless Chromium for browser tests: Debian's `/usr/bin/chromium` driven by playwright-core,
 * with the flags that keep it from reaching the network on its own.
 */
import { execSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Installs Debian's chromium when missing (as root; scripts/test-prereqs.sh does it for `npm test`). */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return
  execSync('apt-get install -y chromium', {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
}

export async function launchChromium(): Promise<Browser> {
  ensureChromium()
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}
