/**
 * The `/api/batch` traffic of the ingest benches (bench/e2e-throughput.ts, bench/batch-path.ts): the
 * same bodies in both, so the receiving thread's per-step figures and the end-to-end ones describe
 * the same events.
 */

/** Real browsers' user agents, one per request in turn. */
export const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
]

/** Request `r`'s batch of `size` pageviews of one visitor, 10 % of them custom events with data. */
export function batchBody(siteId: string, r: number, size: number): string {
  return JSON.stringify(
    Array.from({ length: size }, (_, i) => ({
      type: 'event',
      payload: {
        website: siteId,
        hostname: 'example.com',
        url: `/docs/page-${i}?utm_source=bench&utm_medium=r${r}`,
        title: `Page ${i}`,
        referrer: 'https://www.google.com/',
        language: 'en-US',
        screen: '1920x1080',
        ...(i % 10 === 0 ? { name: 'signup', data: { plan: 'pro', step: i } } : {}),
      },
    })),
  )
}
