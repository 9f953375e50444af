import { describe, expect, it } from 'vitest'
import { pageColumns } from '../../src/enrich/url.ts'
import { ValidationError } from '../../src/errors.ts'

describe('url columns', () => {
  it("Umami v3's example", () => {
    const c = pageColumns({
      url: 'https://www.example.com/blog/post/?utm_source=google%20ads&gclid=abc#top',
      hostname: 'www.example.com',
      referrer: 'https://www.google.com/search?q=x',
    })
    expect(c).toMatchObject({
      url_path: '/blog/post/#top',
      url_query: 'utm_source=google%20ads&gclid=abc',
      utm_source: 'google ads',
      gclid: 'abc',
      hostname: 'www.example.com',
      referrer_domain: 'google.com',
      referrer_path: '/search',
      referrer_query: 'q=x',
      utm_medium: null,
      fbclid: null,
    })
  })

  it('relative URLs resolve against the hostname; the hostname falls back to the URL host without www', () => {
    expect(pageColumns({ url: '/a/b?x=1', hostname: 'shop.example' })).toMatchObject({
      url_path: '/a/b',
      url_query: 'x=1',
      hostname: 'shop.example',
    })
    expect(pageColumns({ url: 'https://www.site.example/p' }).hostname).toBe('site.example')
    expect(pageColumns({ url: 'p' })).toMatchObject({ url_path: '/p', hostname: 'localhost' })
  })

  it('all UTM params and click ids, decoded (+ is a space)', () => {
    const c = pageColumns({
      url: '/?utm_source=a&utm_medium=b+c&utm_campaign=d&utm_content=e&utm_term=f&fbclid=1&msclkid=2&ttclid=3&li_fat_id=4&twclid=5',
    })
    expect(c).toMatchObject({
      utm_source: 'a',
      utm_medium: 'b c',
      utm_campaign: 'd',
      utm_content: 'e',
      utm_term: 'f',
      fbclid: '1',
      msclkid: '2',
      ttclid: '3',
      li_fat_id: '4',
      twclid: '5',
    })
  })

  it('decodes the path (keeping malformed escapes raw) and the title', () => {
    expect(pageColumns({ url: '/caf%C3%A9' }).url_path).toBe('/café')
    expect(pageColumns({ url: '/bad%E0%A4%A' }).url_path).toBe('/bad%E0%A4%A')
    expect(pageColumns({ title: 'Hello%20World' }).page_title).toBe('Hello World')
    expect(pageColumns({ title: '100%' }).page_title).toBe('100%')
  })

  it("truncates to Umami's lengths: 500 for URL parts and title, 255 for UTM", () => {
    const c = pageColumns({
      url: '/' + 'a'.repeat(800) + '?utm_source=' + 'u'.repeat(300) + '&q=' + 'q'.repeat(600),
      title: 't'.repeat(900),
      referrer: 'https://r.example/' + 'r'.repeat(700),
    })
    expect(c.url_path).toHaveLength(500)
    expect(c.url_query).toHaveLength(500)
    expect(c.utm_source).toHaveLength(255)
    expect(c.page_title).toHaveLength(500)
    expect(c.referrer_path).toHaveLength(500)
  })

  it('empty values become null; a missing url leaves the page columns null', () => {
    expect(pageColumns({ url: '/x', referrer: '' })).toMatchObject({
      url_query: null,
      referrer_domain: null,
      referrer_path: null,
    })
    expect(pageColumns({})).toMatchObject({
      url_path: null,
      url_query: null,
      hostname: null,
      page_title: null,
    })
  })

  it('a hostname that makes no URL is a 400 naming payload.hostname (Umami: 500)', () => {
    expect(() => pageColumns({ url: '/', hostname: 'bad host' })).toThrow(ValidationError)
    try {
      pageColumns({ url: '/', hostname: 'bad host' })
    } catch (e) {
      expect((e as ValidationError).field).toBe('payload.hostname')
    }
  })

  it('performance rows keep the pathname only', () => {
    expect(pageColumns({ url: '/a#h', pathOnly: true }).url_path).toBe('/a')
  })
})
