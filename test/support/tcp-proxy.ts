/**
 * A TCP proxy in front of a real server (Postgres in these tests) that a test can cut and restore,
 * to make a real database unreachable without stopping it for everyone else on the machine.
 * `cut()` stops listening (new connections are refused: ECONNREFUSED) and resets every open one;
 * `restore()` listens again on the same port.
 */
import net from 'node:net'

export interface TcpProxy {
  port: number
  cut(): Promise<void>
  restore(): Promise<void>
  close(): Promise<void>
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>()
  const track = (s: net.Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  }
  const makeServer = () =>
    net.createServer((client) => {
      const upstream = net.connect(targetPort, targetHost)
      track(client)
      track(upstream)
      client.pipe(upstream).pipe(client)
      client.on('error', () => upstream.destroy())
      upstream.on('error', () => client.destroy())
    })
  let server = makeServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  let listening = true

  const stop = async () => {
    if (!listening) return
    listening = false
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    for (const s of sockets) s.resetAndDestroy()
    await closed
  }
  return {
    port,
    cut: stop,
    async restore() {
      if (listening) return
      server = makeServer()
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
      listening = true
    },
    close: stop,
  }
}
