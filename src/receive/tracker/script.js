/*
 * Floe's tracker: a compact re-implementation of Umami v3's tracker (src/tracker/index.js, MIT),
 * written from Floe's compatibility notes (docs/umami-compatibility.md) because Umami v3's built
 * script.js is not published on npm. Same data-* attributes, payload, `x-umami-cache` handling and
 * `window.umami` API; web-vitals (`data-performance`) are not implemented.
 * Umami's own tracker works against Floe unchanged; this copy only makes Floe self-contained.
 */
;((window) => {
  const { screen, navigator, location, document, history, localStorage } = window
  const script = document.currentScript
  if (!script) return
  const attr = (name) => script.getAttribute('data-' + name)
  const website = attr('website-id')
  const hostUrl = attr('host-url')
  const tag = attr('tag') || undefined
  const autoTrack = attr('auto-track') !== 'false'
  const dnt = attr('do-not-track') === 'true'
  const excludeSearch = attr('exclude-search') === 'true'
  const excludeHash = attr('exclude-hash') === 'true'
  const domain = attr('domains') || ''
  const domains = domain.split(',').map((d) => d.trim())
  const credentials = attr('fetch-credentials') || 'omit'
  const beforeSendName = attr('before-send')
  const host = hostUrl || script.src.split('/').slice(0, -1).join('/')
  const endpoint = `${host.replace(/\/$/, '')}/api/send`

  const normalize = (raw) => {
    if (!raw) return raw
    try {
      const u = new URL(raw, location.href)
      if (excludeSearch) u.search = ''
      if (excludeHash) u.hash = ''
      return u.toString()
    } catch {
      return raw
    }
  }

  let currentUrl = normalize(location.href)
  let currentRef = document.referrer.startsWith(location.origin) ? '' : normalize(document.referrer)
  let cache
  let identity
  let initialized = false
  let disabled = false

  const getPayload = () => ({
    website,
    screen: `${screen.width}x${screen.height}`,
    language: navigator.language,
    title: document.title,
    hostname: location.hostname,
    url: currentUrl,
    referrer: currentRef,
    ...(tag && { tag }),
    ...(identity && { id: identity }),
  })

  const hasDoNotTrack = () => {
    const v = window.doNotTrack || navigator.doNotTrack || navigator.msDoNotTrack
    return dnt && (v === 1 || v === '1' || v === 'yes')
  }

  const trackingDisabled = () =>
    disabled ||
    !website ||
    (localStorage && localStorage.getItem('umami.disabled')) ||
    (domain && !domains.includes(location.hostname)) ||
    hasDoNotTrack()

  const send = async (payload, type = 'event') => {
    if (trackingDisabled()) return
    const beforeSend = beforeSendName && window[beforeSendName]
    if (typeof beforeSend === 'function') payload = await Promise.resolve(beforeSend(type, payload))
    if (!payload) return
    try {
      const res = await fetch(endpoint, {
        keepalive: true,
        method: 'POST',
        body: JSON.stringify({ type, payload }),
        headers: {
          'Content-Type': 'application/json',
          ...(cache !== undefined && { 'x-umami-cache': cache }),
        },
        credentials,
      })
      const data = await res.json()
      if (data) {
        disabled = !!data.disabled
        cache = data.cache
      }
    } catch {
      /* like Umami: errors are swallowed */
    }
  }

  const track = (name, data) => {
    if (typeof name === 'string') return send({ ...getPayload(), name, data })
    if (typeof name === 'object') return send({ ...name })
    if (typeof name === 'function') return send(name(getPayload()))
    return send(getPayload())
  }

  const identify = (id, data) => {
    if (typeof id === 'string') identity = id
    cache = ''
    return send({ ...getPayload(), data: typeof id === 'object' ? id : data }, 'identify')
  }

  const handlePush = (_state, _title, url) => {
    if (!url) return
    currentRef = currentUrl
    currentUrl = normalize(new URL(url, location.href).toString())
    if (currentUrl !== currentRef) setTimeout(track, 300)
  }

  const hook = (obj, method, cb) => {
    const orig = obj[method]
    return (...args) => {
      cb.apply(null, args)
      return orig.apply(obj, args)
    }
  }

  const handleClick = (e) => {
    const el = e.target.closest ? e.target.closest('[data-umami-event]') : null
    if (!el) return
    const name = el.getAttribute('data-umami-event')
    const data = {}
    for (const a of el.getAttributeNames()) {
      const m = a.match(/^data-umami-event-([\w-_]+)$/)
      if (m) data[m[1]] = el.getAttribute(a)
    }
    const link = el.closest('a')
    if (
      link &&
      link.href &&
      link.target !== '_blank' &&
      !e.ctrlKey &&
      !e.shiftKey &&
      !e.metaKey &&
      e.button !== 1
    ) {
      e.preventDefault()
      track(name, data).then(() => (location.href = link.href))
    } else track(name, data)
  }

  const init = () => {
    if (initialized || document.readyState !== 'complete') return
    initialized = true
    track()
    history.pushState = hook(history, 'pushState', handlePush)
    history.replaceState = hook(history, 'replaceState', handlePush)
    document.addEventListener('click', handleClick, true)
  }

  if (!window.umami) window.umami = { track, identify, getSession: () => ({ cache, website }) }
  if (autoTrack && !trackingDisabled()) {
    if (document.readyState === 'complete') init()
    else document.addEventListener('readystatechange', init, true)
  }
})(window)
