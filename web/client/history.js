// History: the revisions of the text (list, cut one, compare two) and a clause's timeline.
//
//   GET  /api/texts/{id}/revisions                    the revisions, oldest first (statistics)
//   POST /api/texts/{id}/revisions {label}            the chair cuts the next one
//   GET  /api/texts/{id}/diff?from=&to=               what changed, clause by clause
//   GET  /api/texts/{id}/clauses/{c}/history?party=   a clause's entries, each with its diff
//   GET  /api/texts/{id}/revisions/{to}/export?format=docx&mode=redline&from=
//                                                     the Word redline (tracked changes)
//                                                     between two of them, or one and now
//
// Diffs come from the server as (op, words) runs — "equal", "insert", "delete" — and are
// drawn inline (<del>/<ins>) or side by side (the old words with their deletions, the new
// with their insertions). See docs/HISTORY.md.

import { api, download, when } from './api.js'
import { h } from './dom.js'

const CHANGE_TEXT = {
  added: 'added',
  deleted: 'deleted',
  moved: 'moved',
  renumbered: 'renumbered',
  status: 'with a new status',
  words: 'with new words'
}
const KIND_TEXT = {
  added: 'added',
  edited: 'edited',
  'proposal tabled': 'proposal tabled',
  'status changed': 'status changed'
}

/** (op, words) runs drawn inline: deletions struck through, insertions underlined. */
export function inlineDiff (ops) {
  return h('p', { class: 'diff', dir: 'auto' }, (ops || []).map(([op, words]) =>
    op === 'insert' ? h('ins', {}, words) : op === 'delete' ? h('del', {}, words) : words))
}

/** The same runs side by side: the old words (deletions marked), the new (insertions marked). */
export function sideBySide (ops, { oldTitle = 'Before', newTitle = 'After' } = {}) {
  const old = (ops || []).filter(([op]) => op !== 'insert').map(([op, w]) => (op === 'delete' ? h('del', {}, w) : w))
  const now = (ops || []).filter(([op]) => op !== 'delete').map(([op, w]) => (op === 'insert' ? h('ins', {}, w) : w))
  return h('div', { class: 'side-by-side' },
    h('div', { class: 'old' }, h('h5', {}, oldTitle), h('p', { dir: 'auto' }, old)),
    h('div', { class: 'new' }, h('h5', {}, newTitle), h('p', { dir: 'auto' }, now)))
}

export class History {
  constructor (room) {
    this.room = room
    this.revisions = []
    this.clause = null // { id, party, entries, count, error }
    this.comparison = null
    this.redlineStatus = null // { kind: '' | 'ok' | 'error', text } of the last redline
    this.listeners = new Set()
    this.base = `/api/texts/${encodeURIComponent(room.textId)}`
  }

  get last () { return this.revisions[this.revisions.length - 1] || null }

  async loadRevisions () {
    let revisions = []
    try {
      revisions = await api('GET', `${this.base}/revisions`) || []
    } catch (e) {
      // A failed reading (a busy server, the network) leaves the list as it was.
    }
    this.know(revisions)
  }

  /** Revisions are immutable and never removed: a reading adds to what is known (one made
   *  before a cut was recorded cannot hide it), and the list is redrawn. */
  know (revisions) {
    const known = new Map(this.revisions.map((r) => [r.number, r]))
    for (const r of revisions) known.set(r.number, r)
    this.revisions = [...known.values()].sort((a, b) => a.number - b.number)
    this.room.renderCounters()
    for (const listener of this.listeners) listener(this.revisions)
    if (this.dialog?.open) this.renderDialog()
  }

  /** `listener(revisions)` each time the list is read (the Export menu offers them). */
  onRevisions (listener) { this.listeners.add(listener) }

  /** How a comparison names a side: a revision's label, or "now". */
  sideName (ref) {
    if (ref === 'now') return 'now'
    return this.revisions.find((r) => String(r.number) === String(ref))?.label || String(ref)
  }

  // -- a clause's timeline (in the panel) ------------------------------------------------
  async loadClause (clauseId, party = '') {
    const query = party ? `?party=${encodeURIComponent(party)}` : ''
    this.clause = { id: clauseId, party, entries: null, loading: true }
    this.room.panel.render()
    try {
      const body = await api('GET', `${this.base}/clauses/${encodeURIComponent(clauseId)}/history${query}`)
      this.clause = { id: clauseId, party, entries: body.entries, count: body.count }
    } catch (e) {
      this.clause = { id: clauseId, party, entries: [], error: e.message }
    }
    if (this.room.active?.id === clauseId) this.room.panel.render()
  }

  clauseSection (clauseId) {
    const shown = this.clause && this.clause.id === clauseId ? this.clause : null
    const parties = [...new Set([...(this.room.identity.parties || []), ...this.room.doc.getMap('parties').keys()])].sort()
    const filter = h('select', { id: 'history-party', 'aria-label': 'Entries of Party' },
      h('option', { value: '' }, 'every Party'), parties.map((p) => h('option', { value: p, selected: shown?.party === p }, p)))
    const section = h('section', { class: 'history', 'aria-label': 'History of this clause' },
      h('h3', {}, 'History of this clause'),
      h('label', { for: 'history-party' }, 'Show the entries of'), filter,
      h('button', { type: 'button', 'data-action': 'show-history', onclick: () => this.loadClause(clauseId, filter.value) }, shown ? 'Refresh history' : 'Show history'),
      this.restoreForm(clauseId))
    if (!shown) return section
    if (shown.loading) section.append(h('p', { class: 'hint' }, 'Loading…'))
    else if (shown.error) section.append(h('p', { class: 'error' }, shown.error))
    else if (!shown.entries.length) section.append(h('p', { class: 'hint' }, 'No entries.'))
    else {
      section.append(h('p', { class: 'hint' }, `${shown.count} entr${shown.count === 1 ? 'y' : 'ies'}, newest first`))
      section.append(h('ol', { id: 'clause-history', class: 'timeline', reversed: true },
        [...shown.entries].reverse().map((e) => h('li', { 'data-kind': e.kind, 'data-party': e.party || '' },
          h('div', { class: 'entry-head' },
            h('strong', { class: 'entry-kind' }, KIND_TEXT[e.kind] || e.kind),
            e.party ? h('span', { class: 'party-tag entry-party' }, e.party) : null,
            h('span', { class: 'entry-person' }, e.person || e.origin || ''),
            h('time', { datetime: e.ended }, when(e.ended)),
            e.changes > 1 ? h('span', { class: 'hint' }, `${e.changes} changes`) : null),
          entryDetail(e),
          inlineDiff(e.ops)))))
    }
    return section
  }

  /** Whoever may edit gives the clause its wording at a revision: a new, attributed change
   *  (POST …/clauses/{c}/restore), so the history keeps what it said before too. */
  restoreForm (clauseId) {
    if (!this.room.identity.capabilities.has('edit') || !this.revisions.length) return null
    const choice = h('select', { id: 'restore-from', 'aria-label': 'Revision to restore from' },
      [...this.revisions].reverse().map((r) => h('option', { value: String(r.number) }, `${r.number} — ${r.label}`)))
    const note = this.restored?.clause === clauseId ? this.restored : null
    return h('form', { class: 'restore', onsubmit: (e) => { e.preventDefault(); this.restore(clauseId, choice.value) } },
      h('label', { for: 'restore-from' }, 'Give this clause its wording at'), choice,
      h('button', { type: 'submit', 'data-action': 'restore-clause' }, 'Restore'),
      h('p', { id: 'restore-message', role: 'status', class: note?.error ? 'error' : 'ok' }, note?.message || ''))
  }

  async restore (clauseId, number) {
    const label = this.sideName(number)
    try {
      const body = await api('POST', `${this.base}/clauses/${encodeURIComponent(clauseId)}/restore`, { to: number })
      this.restored = {
        clause: clauseId,
        message: body.changes.length ? `Restored to its wording at ${label}.` : `Already as at ${label}: nothing to change.`
      }
    } catch (e) {
      this.restored = { clause: clauseId, error: true, message: `Not restored: ${e.message}` }
    }
    if (this.clause?.id === clauseId) await this.loadClause(clauseId, this.clause.party)
    else if (this.room.active?.id === clauseId) this.room.panel.render()
  }

  // -- revisions: list, cut, compare (a dialog) ------------------------------------------
  button () {
    return h('button', { type: 'button', id: 'open-revisions', class: 'bar-button', onclick: () => this.open() }, 'Revisions & compare')
  }

  open () {
    if (!this.dialog) {
      this.dialog = h('dialog', { id: 'revisions', 'aria-labelledby': 'revisions-title' })
      document.body.append(this.dialog)
    }
    this.renderDialog()
    if (!this.dialog.open) this.dialog.showModal()
    this.loadRevisions()
  }

  renderDialog () {
    const { identity } = this.room
    const options = (selected) => [
      ...this.revisions.map((r) => h('option', { value: String(r.number), selected: selected === String(r.number) }, `${r.number} — ${r.label}`)),
      h('option', { value: 'now', selected: selected === 'now' }, 'now (the text as it stands)')
    ]
    // The dialog is redrawn whenever the list is read: what the person chose or typed stays.
    const typed = this.dialog.querySelector('#revision-label')?.value || ''
    const previous = this.dialog.querySelector('#compare-from')?.value
    const next = this.dialog.querySelector('#compare-to')?.value
    const view = this.dialog.querySelector('input[name=diff-view]:checked')?.value || 'inline'
    const from = h('select', { id: 'compare-from' }, options(previous || (this.last ? String(this.last.number) : 'now')))
    const to = h('select', { id: 'compare-to' }, options(next || 'now'))
    const radio = (value, text) => h('label', { class: 'inline' },
      h('input', { type: 'radio', name: 'diff-view', value, checked: view === value }), ` ${text}`)
    const rows = this.revisions.map((r) => h('tr', { 'data-revision': r.number },
      h('td', {}, String(r.number)), h('td', {}, r.label), h('td', {}, r.author || ''),
      h('td', {}, when(r.created)), h('td', { class: 'num' }, String(r.statistics?.brackets ?? '')),
      h('td', { class: 'num' }, String(r.statistics?.alternatives ?? ''))))
    const parts = [
      h('div', { class: 'dialog-head' },
        h('h2', { id: 'revisions-title' }, 'Revisions'),
        h('button', { type: 'button', class: 'close', 'data-action': 'close-revisions', onclick: () => this.dialog.close() }, 'Close')),
      this.revisions.length
        ? h('div', { class: 'table-wrap' }, h('table', { id: 'revision-list' },
          h('thead', {}, h('tr', {}, ['No.', 'Label', 'Cut by', 'When', 'Open brackets', 'Alternatives'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, rows)))
        : h('p', { class: 'hint' }, 'No revision has been cut yet.')
    ]
    if (identity.capabilities.has('decide')) {
      const label = h('input', { id: 'revision-label', type: 'text', placeholder: `Rev.${this.revisions.length + 1}` })
      label.value = typed
      parts.push(h('form', { class: 'cut', onsubmit: (e) => { e.preventDefault(); this.cut(label.value) } },
        h('h3', {}, 'Cut a revision'),
        h('label', { for: 'revision-label' }, 'Label (optional)'), label,
        h('button', { type: 'submit', 'data-action': 'cut-revision' }, 'Cut a revision now')))
    }
    parts.push(h('p', { id: 'revisions-message', role: 'status' }, this.message || ''))
    // Whoever may export also gets the comparison as a Word file with tracked changes.
    const exporting = identity.capabilities.has('export')
    const status = this.redlineStatus
    parts.push(h('form', { class: 'compare', onsubmit: (e) => { e.preventDefault(); this.compare(from.value, to.value) } },
      h('h3', {}, 'Compare'),
      h('div', { class: 'compare-row' },
        h('label', {}, 'From ', from), h('label', {}, 'to ', to)),
      h('fieldset', {}, h('legend', {}, 'Show'), radio('inline', 'inline'), radio('side', 'side by side')),
      h('div', { class: 'compare-actions' },
        h('button', { type: 'submit', 'data-action': 'compare' }, 'Compare'),
        exporting
          ? h('button', { type: 'button', 'data-action': 'redline', onclick: () => this.redline(from.value, to.value) }, 'Word redline (tracked changes)')
          : null),
      exporting ? h('p', { id: 'redline-message', role: 'status', class: status?.kind || '' }, status?.text || '') : null))
    parts.push(this.comparisonView(view))
    const focused = this.dialog.contains(document.activeElement) ? document.activeElement.id || document.activeElement.dataset.action : ''
    this.dialog.replaceChildren(...parts)
    for (const input of this.dialog.querySelectorAll('input[name=diff-view]')) {
      input.addEventListener('change', () => this.renderDialog())
    }
    if (focused) (this.dialog.querySelector('#' + focused) || this.dialog.querySelector(`[data-action="${focused}"]`))?.focus()
  }

  async cut (label) {
    try {
      const revision = await api('POST', `${this.base}/revisions`, { label: label || '' })
      this.message = `Revision ${revision.number} “${revision.label}” cut.`
      const input = this.dialog?.querySelector('#revision-label')
      if (input) input.value = '' // that label is taken now (kept after a refusal, to correct)
      this.know([revision]) // the server's answer names it: shown at once, whatever readings say
    } catch (e) {
      this.message = `Not cut: ${e.message}`
      if (this.dialog?.open) this.renderDialog()
    }
    this.loadRevisions()
  }

  async compare (from, to) {
    this.comparison = { from, to, loading: true }
    this.renderDialog()
    try {
      const body = await api('GET', `${this.base}/diff?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`)
      this.comparison = { from, to, body }
    } catch (e) {
      this.comparison = { from, to, error: e.message }
    }
    this.renderDialog()
  }

  /** The Word redline from `from` to `to` (revision numbers or "now"), downloaded. */
  async redline (from, to) {
    const sides = `${this.sideName(from)} → ${this.sideName(to)}`
    this.redlineStatus = { kind: '', text: `Preparing the Word redline ${sides}…` }
    this.renderDialog()
    const url = `${this.base}/revisions/${encodeURIComponent(to)}/export?format=docx&mode=redline&from=${encodeURIComponent(from)}`
    try {
      const file = await download(url, 'redline.docx')
      this.redlineStatus = { kind: 'ok', text: `Downloaded ${file.name}: ${sides} as tracked changes.` }
    } catch (e) {
      this.redlineStatus = { kind: 'error', text: `Not exported: ${e.message}` }
    }
    if (this.dialog?.open) this.renderDialog()
  }

  comparisonView (view) {
    const c = this.comparison
    const out = h('section', { id: 'comparison', 'aria-live': 'polite' })
    if (!c) return out
    if (c.loading) { out.append(h('p', { class: 'hint' }, 'Comparing…')); return out }
    if (c.error) { out.append(h('p', { class: 'error' }, c.error)); return out }
    const { counts, clauses } = c.body
    const summary = Object.entries(counts || {}).filter(([, n]) => n)
      .map(([k, n]) => `${n} clause${n === 1 ? '' : 's'} ${CHANGE_TEXT[k] || k}`).join(' · ')
    out.append(h('h3', {}, `${c.body.from} → ${c.body.to}`), h('p', { class: 'hint', id: 'comparison-summary' }, summary || 'No change.'))
    for (const cl of clauses || []) {
      const label = cl.reference || cl.new?.label || cl.old?.label || cl.clause
      out.append(h('article', { class: 'diff-clause', 'data-clause': cl.clause },
        h('h4', {}, label, ' ', cl.changes.map((k) => h('span', { class: 'change-tag' }, k))),
        cl.old?.status !== cl.new?.status && cl.old?.status && cl.new?.status ? h('p', { class: 'hint' }, `status: ${cl.old.status} → ${cl.new.status}`) : null,
        view === 'side' ? sideBySide(cl.ops, { oldTitle: c.body.from, newTitle: c.body.to }) : inlineDiff(cl.ops)))
    }
    return out
  }
}

function entryDetail (e) {
  const d = e.detail || {}
  const bits = []
  if (d.status) bits.push(`status ${d.status.from ?? ''} → ${d.status.to ?? ''}`)
  if (d.from !== undefined && d.to !== undefined && e.kind === 'status changed') bits.push(`${d.from} → ${d.to}`)
  if (d.proposal && typeof d.proposal === 'object') bits.push(`${d.proposal.kind || ''} ${d.proposal.words ? '“' + d.proposal.words + '”' : ''}`.trim())
  if (d.outcome) bits.push(`outcome: ${d.outcome}`)
  return bits.length ? h('div', { class: 'hint entry-detail' }, bits.join(' · ')) : null
}
