// Who is at the keyboard: the signed-in person's role, Party and capabilities in the
// negotiation this text belongs to (GET /api/session, GET /api/negotiations), or, on a
// server without sign-in, "open mode": every capability, acting for a Party picked here.
// The server judges every update anyway; what this decides is only what the page offers.

const ALL = ['read', 'table', 'edit', 'structure', 'decide', 'export']
const DEFAULTS = {
  chair: ALL,
  facilitator: ALL,
  secretariat: ['read', 'edit', 'structure', 'export'],
  delegate: ['read', 'table'],
  'delegation viewer': ['read'],
  observer: ['read'],
  'legal adviser': ['read', 'export']
}

const idOf = (value) => (value && typeof value === 'object' ? value.id ?? value.code ?? '' : value ?? '')

async function getJson (url) {
  const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
  let body = null
  try { body = await response.json() } catch (e) { body = null }
  return { status: response.status, body }
}

/** The negotiation holding `textId`, from GET /api/negotiations (whatever its exact shape). */
function negotiationOf (listing, textId) {
  const items = Array.isArray(listing) ? listing : listing?.negotiations || []
  for (const n of items) {
    const texts = n.texts || []
    if (texts.some((t) => idOf(t) === textId || t?.text_id === textId)) return n
  }
  return items.length === 1 ? items[0] : null
}

export async function loadIdentity (textId) {
  const session = await getJson('/api/session')
  if (session.status === 401) return { mode: 'signed-out' }
  if (session.status !== 200 || !session.body) {
    return {
      mode: 'open',
      name: 'Anyone (no sign-in on this server)',
      role: 'chair',
      party: localStorage.getItem('travaux:party') || '',
      capabilities: new Set(ALL),
      csrf: ''
    }
  }
  const me = session.body
  const person = me.person || {}
  const listing = await getJson('/api/negotiations')
  const negotiation = listing.status === 200 ? negotiationOf(listing.body, textId) : null
  const memberships = me.memberships || []
  const negotiationId = negotiation ? idOf(negotiation) || negotiation.negotiation_id : ''
  const membership =
    memberships.find((m) => idOf(m.negotiation) === negotiationId || m.negotiation_id === negotiationId) ||
    (negotiation && (negotiation.membership || negotiation.me)) ||
    negotiation ||
    memberships[0] ||
    {}
  const role = membership.role || ''
  const capabilities = new Set(membership.capabilities || DEFAULTS[role] || ['read'])
  return {
    mode: 'signed-in',
    name: person.name || person.display_name || person.login || '',
    login: person.login || '',
    role,
    party: idOf(membership.party) || membership.party_code || '',
    capabilities,
    parties: (negotiation?.parties || []).map(idOf).filter(Boolean),
    partyRecords: (negotiation?.parties || []).filter((p) => p && typeof p === 'object'),
    texts: (negotiation?.texts || []).map((t) => ({ id: idOf(t), title: t.title || idOf(t) })),
    csrf: me.csrf || ''
  }
}

export async function signIn (login, password) {
  const response = await fetch('/api/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ login, password })
  })
  if (response.ok) return null
  try { return (await response.json()).error || `sign-in failed (${response.status})` } catch (e) { return `sign-in failed (${response.status})` }
}

export async function signOut (csrf) {
  await fetch('/api/session', { method: 'DELETE', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf } })
}
