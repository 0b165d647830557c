// The server's HTTP API as the page uses it: JSON in and out, the session cookie, and the
// CSRF token (from GET /api/session) on every unsafe call. Errors are thrown as ApiError
// with the server's own sentence ({"error": …, "detail": …}, web/errors.py).

export class ApiError extends Error {
  constructor (status, message, detail) {
    super(message)
    this.status = status
    this.detail = detail
  }
}

let csrf = ''
export const setCsrf = (token) => { csrf = token || '' }

async function problem (response) {
  let body = null
  try { body = await response.json() } catch (e) { body = null }
  const message = body?.error || `${response.status} ${response.statusText}`
  return new ApiError(response.status, message, body?.detail)
}

/** A call; returns the parsed JSON (null for an empty answer). */
export async function api (method, url, body) {
  const headers = { Accept: 'application/json' }
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const response = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  if (!response.ok) throw await problem(response)
  if (response.status === 204) return null
  const text = await response.text()
  return text ? JSON.parse(text) : null
}

/** A file: fetched, then handed to the browser as a download named by the server. */
export async function download (url, fallbackName) {
  const response = await fetch(url, { credentials: 'same-origin' })
  if (!response.ok) throw await problem(response)
  const disposition = response.headers.get('Content-Disposition') || ''
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] || fallbackName
  const blob = await response.blob()
  const href = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = href
  a.download = name
  a.hidden = true
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(href), 60_000)
  return { name, size: blob.size }
}

/** "2026-11-22T23:20:05.444000+00:00" → "22 Nov 2026, 23:20" in the reader's time zone. */
export function when (iso) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleString(undefined, { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' })
}
