/**
 * Umami's traffic channels (the metrics route's `getChannels` and the domain lists of
 * `src/lib/constants.ts`): a (referrer domain, page query) pair is classified in this order —
 * direct (neither), search, social, email, shopping, video, paid ads, referral, affiliate, sms —
 * with the `paid`/`organic` prefix from the query's `utm_medium`.
 */
export const CHANNELS = [
  'direct',
  'referral',
  'affiliate',
  'email',
  'sms',
  'organicSearch',
  'organicSocial',
  'organicShopping',
  'organicVideo',
  'paidAds',
  'paidSearch',
  'paidSocial',
  'paidShopping',
  'paidVideo',
] as const
export type Channel = (typeof CHANNELS)[number]

const SEARCH = [
  'baidu.com',
  'bing.com',
  'duckduckgo.com',
  'ecosia.org',
  'google.',
  'msn.com',
  'search.brave.com',
  'yandex.',
]
const SOCIAL = [
  'bsky.app',
  'facebook.com',
  'fb.com',
  'ig.com',
  'instagram.com',
  'linkedin.',
  'news.ycombinator.com',
  'pinterest.',
  'reddit.',
  'snapchat.',
  't.co',
  'threads.net',
  'tiktok.',
  'twitter.com',
  'x.com',
]
const EMAIL = ['gmail.', 'hotmail.', 'mail.yahoo.', 'outlook.', 'proton.me', 'protonmail.']
const SHOPPING = [
  'alibaba.com',
  'aliexpress.com',
  'amazon.',
  'bestbuy.com',
  'ebay.com',
  'etsy.com',
  'newegg.com',
  'target.com',
  'walmart.com',
]
const VIDEO = ['twitch.', 'youtube.']
const PAID_AD_PARAMS = [
  'ad_id=',
  'aid=',
  'dclid=',
  'epik=',
  'gclid=',
  'li_fat_id=',
  'msclkid=',
  'ob_click_id=',
  'pc_id=',
  'rdt_cid=',
  'scid=',
  'ttclid=',
  'twclid=',
  'utm_medium=cpc',
  'utm_medium=paid',
  'utm_medium=paid_social',
  'utm_source=google',
]

/** The channel of one (referrer domain, url query) pair, or undefined when no rule matches. */
export function channelOf(domain: string | null, query: string | null): Channel | undefined {
  // Umami's values are '' where Floe's are null; its regexes then test the empty string.
  const d = domain ?? ''
  const q = query ?? ''
  if (!d && !q) return 'direct'
  const inDomain = (list: string[]) => d !== '' && list.some((s) => d.includes(s))
  const prefix = /utm_medium=(.*cp.*|ppc|retargeting|paid.*)/.test(q) ? 'paid' : 'organic'
  if (inDomain(SEARCH) || /utm_medium=organic/.test(q)) return `${prefix}Search`
  if (
    inDomain(SOCIAL) ||
    /utm_medium=(social|social-network|social-media|sm|social network|social media)/.test(q)
  )
    return `${prefix}Social`
  if (inDomain(EMAIL) || /utm_medium=(.*e[-_ ]?mail.*)/.test(q)) return 'email'
  if (inDomain(SHOPPING) || /utm_campaign=(.*(([^a-df-z]|^)shop|shopping).*)/.test(q))
    return `${prefix}Shopping`
  if (inDomain(VIDEO) || /utm_medium=(.*video.*)/.test(q)) return `${prefix}Video`
  if (q !== '' && PAID_AD_PARAMS.some((s) => q.includes(s))) return 'paidAds'
  if (/utm_medium=(referral|app|link)/.test(q)) return 'referral'
  if (/utm_medium=affiliate/.test(q)) return 'affiliate'
  if (/utm_(source|medium)=sms/.test(q)) return 'sms'
  return undefined
}
