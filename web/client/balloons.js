// Trial balloons: informal wording shown only to the delegations of its scope.
//
// A balloon never lives in the shared text: each scope ("chair", "all", "parties:AOSIS+EU")
// is a document of its own that the server sends only to the people it admits
// (drafting/scopes.py), so a balloon that is not for you never reaches this page. The page
// opens one WebsocketProvider per scope it may open — the obvious ones at once (`all` and
// `parties:<my Party>` for a delegation, `chair` for the chair and the secretariat), the
// others as GET /api/texts/{id}/balloons reveals them (checked again every few seconds) —
// and draws what those documents hold, live: a withdrawn balloon is deleted from its
// document by the server and vanishes from every page at once. Balloons are changed only
// through the HTTP API (float, withdraw, promote); nothing is ever written to these docs.
//
// Who floated an unattributed balloon is not in its scope document: the chair reads it
// from `balloons/authors` (a document only the chair may open); the author's own
// delegation learns it from the HTTP listing, which says so to them alone.

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { api } from './api.js'

const REFUSED = new Set([4401, 4403, 4404])
const POLL_MS = 4000

/** A scope's document name: the same scope always gives the same key (Scope.key). */
export function scopeKey (scope) {
  if (!scope) return ''
  if (typeof scope === 'string') return scope
  if (scope.kind === 'parties') return 'parties:' + [...new Set(scope.parties || [])].sort().join('+')
  return scope.kind
}

export function describeScope (scope) {
  if (!scope) return ''
  if (scope.kind === 'chair') return 'the chair only'
  if (scope.kind === 'all') return 'all delegations'
  return (scope.parties || []).join(', ')
}

function scopeOfKey (key) {
  const [kind, parties] = key.split(':')
  return kind === 'parties' ? { kind, parties: parties.split('+') } : { kind, parties: [] }
}

/** May this person open a scope's document? (drafting/scopes.refusal_to_open, mirrored.) */
function admitted (identity, key) {
  const role = identity.role
  if (identity.mode === 'open' || role === 'chair') return true
  if (key === 'authors') return false
  const scope = scopeOfKey(key)
  if (role === 'secretariat') return scope.kind === 'chair'
  if (role === 'delegate' || role === 'delegation viewer') {
    if (!identity.party) return false
    return scope.kind === 'all' || (scope.kind === 'parties' && scope.parties.includes(identity.party))
  }
  return false
}

export class Balloons {
  constructor ({ textId, identity, textDoc, wsBase }) {
    Object.assign(this, { textId, identity, textDoc, wsBase })
    this.scopes = new Map() // key -> { doc, provider, refused }
    this.listed = new Map() // id -> balloon as GET /balloons gave it
    this.authors = null // the chair's Y.Doc of authors
    this.listeners = new Set()
    this.timer = null
  }

  onChange (fn) { this.listeners.add(fn) }
  changed () {
    if (this.pending) return
    this.pending = true
    queueMicrotask(() => { this.pending = false; for (const fn of this.listeners) fn() })
  }

  start () {
    const { identity } = this
    const first = []
    if (identity.role === 'chair' || identity.mode === 'open') first.push('chair', 'all')
    else if (identity.role === 'secretariat') first.push('chair')
    else if ((identity.role === 'delegate' || identity.role === 'delegation viewer') && identity.party) {
      first.push('all', `parties:${identity.party}`)
    }
    for (const key of first) this.subscribe(key)
    if (identity.role === 'chair') this.subscribeAuthors()
    this.refresh()
    this.timer = setInterval(() => { if (document.visibilityState === 'visible') this.refresh() }, POLL_MS)
  }

  provider (name, doc) {
    const provider = new WebsocketProvider(this.wsBase, `${this.textId}/balloons/${name}`, doc, { maxBackoffTime: 2500 })
    provider.on('connection-close', (event) => {
      if (event && REFUSED.has(event.code)) {
        provider.shouldConnect = false
        provider.disconnect()
        const entry = this.scopes.get(name)
        if (entry) entry.refused = event.reason || String(event.code)
        this.changed()
      }
    })
    return provider
  }

  subscribe (key) {
    if (this.scopes.has(key) || !admitted(this.identity, key)) return
    const doc = new Y.Doc()
    const entry = { doc, provider: null, refused: '' }
    this.scopes.set(key, entry)
    doc.getMap('balloons').observeDeep((events) => {
      // A balloon of my Party's floated unattributed: the listing says it is ours.
      for (const e of events) {
        if (e.target === doc.getMap('balloons')) {
          for (const [id, change] of e.changes.keys) if (change.action === 'add' && !this.listed.has(id)) this.refreshSoon()
        }
      }
      this.changed()
    })
    entry.provider = this.provider(key, doc)
  }

  subscribeAuthors () {
    const doc = new Y.Doc()
    this.authors = doc
    doc.getMap('authors').observe(() => this.changed())
    this.authorsProvider = this.provider('authors', doc)
  }

  refreshSoon () {
    clearTimeout(this.soon)
    this.soon = setTimeout(() => this.refresh(), 200)
  }

  async refresh () {
    let body
    try { body = await api('GET', `/api/texts/${encodeURIComponent(this.textId)}/balloons`) } catch (e) { return }
    this.listed = new Map((body?.balloons || []).map((b) => [b.id, b]))
    for (const b of this.listed.values()) this.subscribe(scopeKey(b.scope))
    this.changed()
  }

  /** Every balloon this person may see, as {id, clause, words, author, status, floated, scope, at}. */
  all () {
    const out = new Map()
    for (const [key, { doc, refused }] of this.scopes) {
      if (refused) continue
      doc.getMap('balloons').forEach((rec, id) => {
        if (!(rec instanceof Y.Map)) return
        const attributed = !!rec.get('attributed')
        let author = attributed ? rec.get('party') || null : null
        if (!author && this.authors) author = this.authors.getMap('authors').get(id) || null
        if (!author && this.listed.get(id)?.author) author = this.listed.get(id).author
        out.set(id, {
          id,
          clause: rec.get('clause') || '',
          words: rec.get('words')?.toString() || '',
          author,
          attributed,
          status: rec.get('status') || '',
          floated: rec.get('created') || '',
          proposal: rec.get('proposal') || '',
          scope: rec.get('scope') || scopeOfKey(key),
          at: this.anchor(rec.get('anchor'))
        })
      })
    }
    // My Party's balloons in scopes I may not open (floated to the chair only, say).
    for (const [id, b] of this.listed) {
      const entry = this.scopes.get(scopeKey(b.scope))
      if (out.has(id) || (entry && !entry.refused)) continue
      out.set(id, { ...b, attributed: b.author !== null, proposal: '', at: null })
    }
    return [...out.values()].sort((a, b) => (a.floated < b.floated ? -1 : a.floated > b.floated ? 1 : a.id < b.id ? -1 : 1))
  }

  forClause (clauseId) { return this.all().filter((b) => b.clause === clauseId) }

  /** Where a balloon stands in its clause now (its sticky index), in UTF-16 units. */
  anchor (anchor) {
    const sticky = anchor && (anchor.get ? anchor.get('sticky') : anchor.sticky)
    if (!sticky) return null
    try {
      const bytes = Uint8Array.from(atob(sticky), (c) => c.charCodeAt(0))
      const abs = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(bytes), this.textDoc)
      return abs ? abs.index : null
    } catch (e) {
      return null
    }
  }

  mayWithdraw (b) {
    const { identity } = this
    return identity.role === 'chair' || (!!identity.party && identity.capabilities.has('table') && b.author === identity.party)
  }

  mayPromote (b) {
    const { identity } = this
    return b.status === 'floated' && !!identity.party && identity.capabilities.has('table') && b.author === identity.party
  }

  base () { return `/api/texts/${encodeURIComponent(this.textId)}/balloons` }

  /** Float one: `at` is a UTF-16 position in the clause's words (the server counts characters). */
  async float ({ clause, at, words, scope, attributed }) {
    const clauseWords = this.textDoc.getMap('clauses').get(clause)?.get('words')?.toString() || ''
    const chars = [...clauseWords.slice(0, at)].length
    const result = await api('POST', this.base(), { clause, at: chars, words, scope, attributed })
    this.subscribe(scopeKey(result.scope))
    await this.refresh()
    return result
  }

  async withdraw (id) {
    await api('DELETE', `${this.base()}/${encodeURIComponent(id)}`)
    this.listed.delete(id)
    await this.refresh()
  }

  async promote (id) {
    const result = await api('POST', `${this.base()}/${encodeURIComponent(id)}/promote`)
    await this.refresh()
    return result
  }
}
