/**
 * Issue 9 item 4: slow-body denial of service. Real sockets against a listening receiver with short
 * limits: connections that trickle a body, never finish their headers, or sit idle are closed by
 * the server, connections over HTTP_MAX_CONNECTIONS are refused, and /healthz keeps answering.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestReceiver, type TestReceiver } from './support.ts'

let r: TestReceiver
let port: number

beforeAll(async () => {
  r = await startTestReceiver({
    HTTP_REQUEST_TIMEOUT_SECONDS: '2',
    HTTP_HEADERS_TIMEOUT_SECONDS: '1',
    HTTP_IDLE_TIMEOUT_SECONDS: '2',
    HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '1',
    HTTP_MAX_CONNECTIONS: '60',
  })
  await r.app.listen({ port: 0, host: '127.0.0.1' })
  port = (r.app.server.address() as net.AddressInfo).port
})
afterAll(() => r.close())

interface Trickler {
  socket: net.Socket
  closed: Promise<number>
  stop(): void
}

/** Opens a connection that sends `head` and then one byte of `drip` every 200 ms. */
function trickle(head: string, drip: string): Trickler {
  const started = Date.now()
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  socket.on('data', () => {})
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)))
  socket.write(head)
  let i = 0
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer)
    socket.write(drip[i++ % drip.length])
  }, 200)
  return { socket, closed, stop: () => clearInterval(timer) }
}

async function healthz(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) })
  return res.status
}

describe('slow and idle clients', () => {
  it('closes trickling bodies, unfinished headers and idle sockets; /healthz still answers', async () => {
    const slowBody = Array.from({ length: 15 }, () =>
      trickle(
        'POST /api/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n',
        '{"type":"event"',
      ),
    )
    const slowHeaders = Array.from({ length: 15 }, () =>
      trickle('GET /healthz HTTP/1.1\r\n', 'X-Slow: y\r\n'),
    )
    const idle = Array.from({ length: 15 }, () => trickle('', ''))
    idle.forEach((t) => t.stop())
    try {
      // While they hang on, the server still answers.
      expect(await healthz()).toBe(200)
      const lifetimes = await Promise.all([...slowBody, ...slowHeaders, ...idle].map((t) => t.closed))
      // Every one was closed by the server, within its limit plus the 1 s check interval.
      for (const ms of lifetimes) expect(ms).toBeLessThan(5000)
      expect(await healthz()).toBe(200)
    } finally {
      for (const t of [...slowBody, ...slowHeaders, ...idle]) {
        t.stop()
        t.socket.destroy()
      }
    }
  }, 20_000)

  it('closes connections beyond HTTP_MAX_CONNECTIONS at once', async () => {
    const held = Array.from({ length: 70 }, () => trickle('', ''))
    held.forEach((t) => t.stop())
    try {
      const early = await Promise.race([
        Promise.all(held.slice(60).map((t) => t.closed)),
        new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 1500)),
      ])
      expect(early).not.toBe('timeout')
      for (const ms of early as number[]) expect(ms).toBeLessThan(1500)
    } finally {
      held.forEach((t) => t.socket.destroy())
    }
    // Once they are gone, new connections are served again.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(await healthz()).toBe(200)
  })
})
