// The page: header (title, counters, connection, who), outline, the clauses, the panel.
// Clauses are drawn from the Y.Doc and redrawn when a transaction touches them; the clause
// in hand is a live editor (editor.js) instead of a drawing.

import * as Y from 'yjs'
import { counts, field, marks, numbering, outline, roots, spans } from './model.js'
import { mountEditor } from './editor.js'
import { Panel } from './panel.js'
import { History } from './history.js'
import { exportMenu } from './exports.js'
import { describeScope } from './balloons.js'
import { when } from './api.js'
import { registerParties } from './operations.js'
import { h, partyHue } from './dom.js'

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  connected: 'Connected, syncing…',
  synced: 'Connected · up to date',
  disconnected: 'Disconnected — edits are kept in this browser; reconnecting…',
  offline: 'Offline — edits are kept in this browser and sent on reconnection',
  refused: 'Change refused'
}
const BRACKET_CHARS = { bracket: ['[', ']'], placeholder: ['{', '}'], clause: ['[', ']'] }
const CONTAINER_KINDS = ['preamble', 'section', 'article', 'options', 'final-clauses', 'annex']

/**
 * The words of a clause with their brackets drawn, as DOM nodes; `pins` (position → DOM
 * nodes) are drawn at their positions (where trial balloons stand).
 */
export function wordsView (doc, ytext, pins = new Map()) {
  const container = h('span', { class: 'words-inner' })
  const list = spans(doc, ytext)
  const { opens, closes } = marks(list)
  const pinned = (at) => { for (const node of pins.get(at) || []) top().append(node); pins.delete(at) }
  const stack = [container]
  const top = () => stack[stack.length - 1]
  const close = (s) => {
    top().append(h('span', { class: 'bm', 'aria-hidden': 'true' }, BRACKET_CHARS[s.kind][1]))
    if (stack.length > 1 && top().dataset.bracket === s.id) stack.pop()
  }
  const open = (s) => {
    const el = h('span', {
      class: `br br-${s.kind} br-depth-${Math.min(s.depth, 3)}`,
      'data-bracket': s.id,
      'data-party': s.party,
      title: s.party ? `${s.kind === 'placeholder' ? 'Placeholder' : 'Bracket'} of ${s.party}` : 'Bracket',
      style: s.party ? `--party-hue:${partyHue(s.party)}` : null
    }, h('span', { class: 'bm', 'aria-hidden': 'true' }, BRACKET_CHARS[s.kind][0]))
    if (s.party) el.append(h('span', { class: 'party-tag' }, s.party))
    top().append(el)
    stack.push(el)
  }
  let pos = 0
  for (const op of ytext.toDelta()) {
    const text = typeof op.insert === 'string' ? op.insert : '\uFFFC'
    const attrs = op.attributes || {}
    // Split at bracket edges inside the chunk.
    const cuts = new Set([0, text.length])
    for (const p of [...opens.keys(), ...closes.keys(), ...pins.keys()]) if (p > pos && p < pos + text.length) cuts.add(p - pos)
    const sorted = [...cuts].sort((a, b) => a - b)
    for (let i = 0; i < sorted.length - 1; i++) {
      const at = pos + sorted[i]
      for (const s of closes.get(at) || []) close(s)
      closes.delete(at)
      pinned(at)
      for (const s of opens.get(at) || []) open(s)
      opens.delete(at)
      let node = document.createTextNode(text.slice(sorted[i], sorted[i + 1]))
      if (attrs.i) node = h('em', {}, node)
      if (attrs.b) node = h('strong', {}, node)
      top().append(node)
    }
    pos += text.length
  }
  for (const s of closes.get(pos) || []) close(s)
  for (const at of [...pins.keys()]) pinned(at) // at the end (or past it)
  return container
}

export class Room {
  constructor ({ root, doc, provider, identity, textId, balloons }) {
    Object.assign(this, { root, doc, provider, identity, textId, balloons })
    this.active = null // { id, editor }
    this.elements = new Map()
    this.onSignOut = null
    // Undo covers this person's own typing (transactions of `origin`), not others' edits
    // and not the operations of the panel (a tabled proposal is withdrawn, not undone: the
    // server refuses to remove a proposal's record).
    this.origin = { typing: true }
    this.undoManager = new Y.UndoManager(roots(doc).clauses, { trackedOrigins: new Set([this.origin]), captureTimeout: 600 })
    this.history = new History(this)
  }

  start () {
    const { root } = this
    this.title = h('h1', { id: 'title' })
    this.counters = h('div', { id: 'counters', class: 'counters', 'aria-label': 'Open in this text' })
    this.connection = h('div', { id: 'connection', class: 'connection', role: 'status', 'aria-live': 'polite', 'data-state': 'connecting' }, CONNECTION_TEXT.connecting)
    this.who = h('div', { id: 'who', class: 'who' })
    this.nav = h('nav', { id: 'outline', 'aria-label': 'Outline' })
    this.text = h('main', { id: 'text', 'aria-label': 'Text' })
    this.panel = new Panel(this)
    const tools = h('div', { class: 'bar-tools' }, this.history.button(),
      this.identity.capabilities.has('export') ? exportMenu(this) : null)
    this.notice = h('div', { id: 'notice', class: 'notice', hidden: true })
    root.replaceChildren(
      h('header', { class: 'bar' }, h('a', { href: '/', class: 'home' }, 'Travaux'), this.title, this.counters, this.connection, tools, this.who),
      this.notice,
      this.layout = h('div', { class: 'layout' }, this.nav, this.text, this.panel.el)
    )
    // The side columns stick below the header, whatever its height (it wraps when narrow).
    const bar = root.querySelector('header.bar')
    new ResizeObserver(() => root.style.setProperty('--bar-height', `${bar.offsetHeight}px`)).observe(bar)
    this.renderWho()
    this.renderAll()
    this.doc.on('afterTransaction', (tr) => this.touched(tr))
    this.provider.awareness.on('change', () => this.renderPresence())
    if (this.balloons) this.balloons.onChange(() => this.renderBalloons())
    this.history.loadRevisions()
    // A revision cut by anyone writes its label into the text (meta.revision): reload the list.
    // The label reaches the text just before the revision is recorded: read again shortly.
    roots(this.doc).meta.observe((event) => {
      if (!event.keysChanged.has('revision')) return
      this.history.loadRevisions()
      setTimeout(() => this.history.loadRevisions(), 1500)
    })
  }

  setConnection (state, text) {
    if (state === 'synced' && !this.synced) { this.synced = true; queueMicrotask(() => this.renderNotice()) }
    if (this.connection.dataset.state === 'refused' && state !== 'refused') return
    if (state === 'disconnected' && !navigator.onLine) state = 'offline'
    this.connection.dataset.state = state
    this.connection.textContent = text || CONNECTION_TEXT[state] || state
  }

  renderWho () {
    const { identity } = this
    this.who.replaceChildren()
    if (identity.mode === 'open') {
      const parties = [...roots(this.doc).parties.keys()].sort()
      const select = h('select', { id: 'act-for', 'aria-label': 'Acting for Party' },
        h('option', { value: '' }, '(no Party)'), parties.map((p) => h('option', { value: p, selected: p === identity.party }, p)))
      select.addEventListener('change', () => {
        identity.party = select.value
        localStorage.setItem('travaux:party', select.value)
        this.provider.awareness.setLocalStateField('user', { ...this.provider.awareness.getLocalState().user, party: select.value })
        this.panel.render()
      })
      this.who.append(h('span', {}, 'No sign-in on this server · acting for '), select)
    } else {
      this.who.append(
        h('span', { id: 'me', 'data-role': identity.role, 'data-party': identity.party },
          `${identity.name} · ${identity.role}${identity.party ? ' · ' + identity.party : ''}`),
        h('button', { type: 'button', class: 'link', onclick: () => this.onSignOut && this.onSignOut() }, 'Sign out'))
    }
  }

  /** Redraw what a transaction changed: the clauses it touched, or everything. */
  touched (tr) {
    const { clauses, brackets, proposals } = roots(this.doc)
    let all = false
    const dirty = new Set()
    for (const [type, keys] of tr.changed) {
      const path = []
      let t = type
      while (t._item) { path.unshift(t._item.parentSub); t = t._item.parent }
      if (t === clauses) {
        if (path.length === 0) all = true
        else if (path.length === 1 && [...keys].some((k) => ['parent', 'order', 'kind', 'base', 'status', 'chosen'].includes(k))) all = true
        else dirty.add(path[0])
      } else if (t === brackets) {
        const rec = path.length ? brackets.get(path[0]) : null
        if (rec) dirty.add(field(rec, 'clause'))
        else for (const k of keys) { const r = brackets.get(k); if (r) dirty.add(field(r, 'clause')) }
      } else if (t === proposals) {
        const ids = path.length ? [path[0]] : [...keys]
        for (const id of ids) { const r = proposals.get(id); if (r) dirty.add(field(r, 'clause')) }
      } else all = true
    }
    if (all) this.allDirty = true
    for (const id of dirty) (this.dirty ||= new Set()).add(id)
    if (!this.scheduled) {
      this.scheduled = true
      requestAnimationFrame(() => {
        this.scheduled = false
        if (this.allDirty) this.renderAll()
        else for (const id of this.dirty || []) this.renderClause(id)
        this.renderCounters()
        if (this.active && (this.allDirty || this.dirty?.has(this.active.id))) this.panel.render()
        this.allDirty = false
        this.dirty = null
      })
    }
  }

  renderAll () {
    const { doc } = this
    const meta = roots(doc).meta
    this.title.textContent = field(meta, 'title') || '(untitled)'
    document.title = `${this.title.textContent} — Travaux`
    this.tree = outline(doc)
    this.numbers = numbering(doc, this.tree)
    const placed = this.tree.walk()
    const navItems = []
    const seen = new Set()
    const order = []
    for (const { id, depth } of placed) {
      seen.add(id)
      order.push(this.clauseElement(id, depth))
      const rec = this.tree.records.get(id)
      if (CONTAINER_KINDS.includes(field(rec, 'kind')) || depth === 0) {
        const label = this.numbers.label(id) || field(rec, 'kind')
        const title = rec.get('words')?.toString().slice(0, 60) || ''
        navItems.push(h('li', { class: `nav-${field(rec, 'kind')}`, style: `--depth:${depth}` },
          h('a', { href: `#clause-${id}`, 'data-clause': id, onclick: (e) => { e.preventDefault(); this.jump(id) } },
            h('span', { class: `dot status-${field(rec, 'status').replaceAll(' ', '-')}`, title: field(rec, 'status') }),
            `${label} ${title}`)))
      }
    }
    for (const [id, el] of this.elements) if (!seen.has(id)) { el.remove(); this.elements.delete(id) }
    // Re-inserting the same elements would blur the editor in hand: only when needed.
    const current = [...this.text.children]
    if (current.length !== order.length || current.some((el, i) => el !== order[i])) this.text.replaceChildren(...order)
    this.nav.replaceChildren(h('h2', {}, 'Outline'), h('ol', {}, navItems))
    if (this.active && !seen.has(this.active.id)) this.deactivate()
    this.renderCounters()
    this.renderPresence()
    this.renderNotice()
    this.panel.render()
  }

  /**
   * The negotiation's Parties missing from the text's own registry: the server refuses a
   * balloon or a promoted proposal in the name of an unregistered Party. Whoever may keep
   * the registry (structure) is offered to register them.
   */
  renderNotice () {
    const registry = roots(this.doc).parties
    const missing = (this.identity.partyRecords || []).filter((p) => p.code && !registry.has(p.code))
    const may = this.identity.capabilities.has('structure')
    this.notice.hidden = !(missing.length && may && this.synced)
    if (this.notice.hidden) return
    this.notice.replaceChildren(
      h('span', {}, `Not yet registered in this text: ${missing.map((p) => p.code).join(', ')} (Parties of the negotiation). Trial balloons and promoted proposals in their name are refused until they are. `),
      h('button', {
        type: 'button',
        'data-action': 'register-parties',
        onclick: () => { registerParties(this.doc, missing); this.renderNotice() }
      }, 'Register them'))
  }

  clauseElement (id, depth) {
    let el = this.elements.get(id)
    if (!el) {
      el = h('article', { id: `clause-${id}`, class: 'clause', tabindex: '0', 'data-clause': id })
      el.addEventListener('click', (e) => { if (!this.active || this.active.id !== id) this.activate(id) })
      el.addEventListener('keydown', (e) => {
        if (e.target === el && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); this.activate(id) }
      })
      this.elements.set(id, el)
    }
    el.style.setProperty('--depth', depth)
    this.renderClause(id)
    return el
  }

  renderClause (id) {
    const el = this.elements.get(id)
    const rec = roots(this.doc).clauses.get(id)
    if (!el || !rec || !this.tree) return
    const kind = field(rec, 'kind')
    const status = field(rec, 'status')
    const live = this.tree.isLive(id)
    el.className = `clause kind-${kind} status-${status.replaceAll(' ', '-')}${live ? '' : ' not-live'}${this.active?.id === id ? ' active' : ''}`
    el.dataset.status = status
    el.setAttribute('aria-label', `${this.numbers.label(id) || kind}, ${status}`)
    let head = el.querySelector(':scope > .clause-head')
    if (!head) {
      head = h('div', { class: 'clause-head' })
      el.prepend(head)
    }
    const cb = field(rec, 'bracket')
    const cbRec = cb ? roots(this.doc).brackets.get(cb) : null
    const clauseBracket = cbRec && field(cbRec, 'state') === 'open' ? field(cbRec, 'party') || '·' : ''
    const party = field(rec, 'party')
    head.replaceChildren(...[
      h('span', { class: 'num' }, this.numbers.label(id)),
      h('span', { class: `badge status-${status.replaceAll(' ', '-')}`, 'data-status': status }, status),
      party ? h('span', { class: 'party-tag', style: `--party-hue:${partyHue(party)}`, title: `Proposed by ${party}` }, party) : null,
      h('span', { class: 'presence', 'data-presence': id }, this.presenceChips(id))
    ].filter(Boolean))
    let words = el.querySelector(':scope > .words')
    if (!words) {
      words = h('div', { class: 'words', dir: 'auto' })
      el.append(words)
    }
    words.classList.toggle('clause-bracketed', !!clauseBracket)
    if (clauseBracket) words.title = `Whole clause in brackets (${clauseBracket})`
    else words.removeAttribute('title')
    let aside = el.querySelector(':scope > .balloons')
    if (!aside) {
      aside = h('aside', { class: 'balloons', 'data-balloons': id, 'aria-label': 'Trial balloons' })
      el.append(aside)
    }
    const floated = this.balloons ? this.balloons.forClause(id) : []
    this.renderBalloonList(aside, floated)
    if (this.active?.id === id) return // the editor draws itself
    const ytext = rec.get('words')
    const pins = new Map()
    floated.forEach((b, i) => {
      if (b.at === null || b.at === undefined) return
      const at = Math.min(b.at, ytext ? ytext.length : 0)
      if (!pins.has(at)) pins.set(at, [])
      pins.get(at).push(h('sup', { class: 'balloon-pin', 'aria-hidden': 'true', title: 'A trial balloon stands here' }, `TB${i + 1}`))
    })
    words.replaceChildren(ytext ? wordsView(this.doc, ytext, pins) : '')
  }

  /** The trial balloons of every clause (a scope document changed). */
  renderBalloons () {
    for (const id of this.elements.keys()) this.renderClause(id)
  }

  renderBalloonList (aside, floated) {
    const { balloons } = this
    aside.hidden = !floated.length
    aside.replaceChildren(...floated.map((b, i) => {
      const act = (label, action, fn) => h('button', {
        type: 'button',
        'data-action': action,
        onclick: async (event) => {
          event.stopPropagation()
          const button = event.currentTarget
          button.disabled = true
          try { await fn() } catch (error) {
            button.disabled = false
            aside.querySelector(`[data-balloon="${b.id}"] .balloon-message`)?.replaceChildren(`${label}: ${error.message}`)
          }
        }
      }, label)
      const author = b.author
        ? h('span', { class: 'party-tag balloon-author', style: `--party-hue:${partyHue(b.author)}` }, b.author + (b.attributed === false ? ' (unattributed)' : ''))
        : h('span', { class: 'balloon-author hint' }, 'unattributed')
      return h('div', { class: 'balloon', 'data-balloon': b.id, 'data-status': b.status, 'data-author': b.author || '' },
        h('div', { class: 'balloon-head' },
          h('strong', {}, `Trial balloon TB${i + 1}`), author,
          h('span', { class: 'hint' }, `shown to ${describeScope(b.scope)}`),
          b.status !== 'floated' ? h('span', { class: 'badge balloon-status' }, b.status) : null,
          h('time', { class: 'hint', datetime: b.floated }, when(b.floated))),
        h('p', { class: 'balloon-words', dir: 'auto' }, b.words),
        h('div', { class: 'balloon-actions' },
          balloons.mayPromote(b) ? act('Promote to a proposal', 'promote-balloon', () => balloons.promote(b.id)) : null,
          balloons.mayWithdraw(b) ? act('Withdraw', 'withdraw-balloon', () => balloons.withdraw(b.id)) : null,
          h('span', { class: 'balloon-message error', role: 'alert' })))
    }))
  }

  renderCounters () {
    const c = counts(this.doc)
    const last = this.history?.last
    const then = last?.statistics
    const item = (name, value, label) => {
      const before = !then ? null
        : name === 'agreed' ? (then.per_status?.agreed || 0) + (then.per_status?.['agreed ad ref'] || 0)
          : then[name]
      const delta = typeof before === 'number' ? value - before : null
      return h('span', { class: 'counter', 'data-counter': name }, h('strong', {}, String(value)), ` ${label}`,
        delta === null ? null : h('small', {
          class: `delta${delta ? (delta > 0 ? ' up' : ' down') : ''}`,
          'data-delta': String(delta),
          title: `${before} at ${last.label}`
        }, delta ? ` (${delta > 0 ? '+' : '−'}${Math.abs(delta)})` : ''))
    }
    this.counters.replaceChildren(
      item('brackets', c.brackets, 'open brackets'),
      item('alternatives', c.alternatives, 'alternatives'),
      item('options', c.options, 'options'),
      item('placeholders', c.placeholders, 'placeholders'),
      item('agreed', (c.perStatus.agreed || 0) + (c.perStatus['agreed ad ref'] || 0), `of ${c.clauses} clauses agreed`),
      ...(last ? [h('span', { class: 'since', id: 'since-revision', title: 'The numbers in brackets are the change since that revision' }, `(±) since ${last.label}`)] : [])
    )
  }

  /** Who else is on a clause (awareness `clause`), as chips. */
  presenceChips (id) {
    const me = this.doc.clientID
    const chips = []
    this.provider.awareness.getStates().forEach((state, client) => {
      if (client === me || state.clause !== id || !state.user) return
      const u = state.user
      chips.push(h('span', { class: 'who-chip', style: `background:${u.color}`, title: `${u.name}${u.party ? ' (' + u.party + ')' : ''} is here` }, u.party || u.name))
    })
    return chips
  }

  renderPresence () {
    for (const slot of this.text.querySelectorAll('[data-presence]')) {
      slot.replaceChildren(...this.presenceChips(slot.dataset.presence))
    }
  }

  jump (id) {
    const el = this.elements.get(id)
    if (!el) return
    el.scrollIntoView({ block: 'center' })
    el.focus()
  }

  activate (id) {
    if (this.active?.id === id) return
    this.deactivate(false)
    const rec = roots(this.doc).clauses.get(id)
    const el = this.elements.get(id)
    if (!rec || !el) return
    const words = el.querySelector(':scope > .words')
    words.replaceChildren()
    const caps = this.identity.capabilities
    const free = caps.has('edit') || caps.has('decide')
    // A delegate types only inside their own Party's brackets (the server allows no more).
    const delegate = !free && caps.has('table') && !!this.identity.party
    const editor = mountEditor({
      parent: words,
      doc: this.doc,
      ytext: rec.get('words'),
      awareness: this.provider.awareness,
      editable: free || delegate,
      party: delegate ? this.identity.party : '',
      origin: this.origin,
      undoManager: this.undoManager,
      onBlocked: () => this.panel.say(`You can type only inside ${this.identity.party}'s brackets; to change other words, table a proposal.`),
      label: `Words of ${this.numbers.label(id) || field(rec, 'kind')}`,
      onSelection: (sel) => this.panel.selection(sel),
      onEscape: () => { this.deactivate(); el.focus() }
    })
    this.active = { id, editor }
    el.classList.add('active')
    this.panel.el.classList.add('has-clause')
    this.layout?.classList.add('has-clause')
    // Tab from the editor reaches this button: the clause's tools, without crossing the text.
    words.after(h('button', {
      type: 'button',
      class: 'to-tools',
      'data-nav': 'to-tools',
      onclick: (e) => { e.stopPropagation(); this.panel.focus() }
    }, 'Tools for this clause'))
    this.provider.awareness.setLocalStateField('clause', id)
    this.panel.render()
    editor.view.focus()
    el.scrollIntoView({ block: 'nearest' }) // clear of the tools' drawer when narrow
  }

  deactivate (render = true) {
    if (!this.active) return
    const { id, editor } = this.active
    editor.destroy()
    this.active = null
    this.panel.el.classList.remove('has-clause')
    this.layout?.classList.remove('has-clause')
    this.elements.get(id)?.querySelector(':scope > .to-tools')?.remove()
    this.provider.awareness.setLocalStateField('clause', null)
    this.provider.awareness.setLocalStateField('cursor', null)
    const el = this.elements.get(id)
    if (el) el.classList.remove('active')
    this.renderClause(id)
    if (render) this.panel.render()
  }
}
