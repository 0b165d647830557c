// The tools for the clause in hand: a delegate's proposals on the selected words, the
// proposals on the clause (support, object, withdraw), and the chair's decisions (status,
// lifting brackets). Every action is one operation of operations.js: one Yjs transaction.

import { ALLOWED, field, marks, roots, spans } from './model.js'
import * as op from './operations.js'
import { h, partyHue } from './dom.js'

export class Panel {
  constructor (room) {
    this.room = room
    this.el = h('aside', { id: 'panel', 'aria-label': 'Clause tools' })
    this.sel = { from: 0, to: 0, text: '' }
  }

  /** The keyboard's way from the clause to its tools: the first control of the panel. */
  focus () {
    const first = this.el.querySelector('button:not([data-nav]):not([disabled]), input, select, textarea')
    ;(first || this.el).focus()
    this.el.scrollIntoView({ block: 'nearest' })
  }

  selection (sel) {
    this.sel = sel
    const out = this.el.querySelector('#selection')
    if (out) out.textContent = sel.text ? `“${sel.text}”` : 'none (the cursor is at one place)'
    const target = this.el.querySelector('#alt-target')
    if (target && sel.to > sel.from) {
      const inner = this.bracketsHere().filter((s) => s.kind === 'bracket' && s.start <= sel.from && sel.to <= s.end).pop()
      if (inner) target.value = inner.id
    }
  }

  bracketsHere () {
    const { active, doc } = this.room
    if (!active) return []
    return spans(doc, roots(doc).clauses.get(active.id).get('words'))
  }

  say (text, ok = false) {
    const m = this.el.querySelector('#message')
    if (m) { m.textContent = text; m.className = ok ? 'ok' : 'error' }
  }

  /** Run an operation; report its refusal (checked before anything is written). */
  act (what, fn) {
    try {
      fn()
      this.say(what, true)
      return true
    } catch (error) {
      this.say(error.message)
      return false
    }
  }

  render () {
    const { room } = this
    const { active, doc, identity } = room
    if (!active) {
      this.el.replaceChildren(h('h2', {}, 'Clause tools'), h('p', { class: 'hint' }, 'Choose a clause (click it, or Tab to it and press Enter) to edit it, table a proposal or decide. Escape leaves the clause.'))
      return
    }
    const id = active.id
    const rec = roots(doc).clauses.get(id)
    if (!rec) return
    const caps = identity.capabilities
    const party = identity.party
    const label = room.numbers?.label(id) || field(rec, 'kind')
    const parts = [h('div', { class: 'panel-head' }, h('h2', {}, `Clause ${label}`),
      h('button', { type: 'button', class: 'link', 'data-nav': 'back-to-clause', onclick: () => room.active?.editor.view.focus() }, 'Back to the clause'))]
    const editable = caps.has('edit') || caps.has('decide')
    parts.push(h('p', { class: 'hint' }, editable
      ? 'Type in the clause to edit its words; everyone sees it as you type.'
      : caps.has('table') ? 'Select words in the clause to table a proposal on them.' : 'You can read this text; you cannot change it.'))
    parts.push(h('p', {}, 'Selected: ', h('span', { id: 'selection' }, this.sel.text ? `“${this.sel.text}”` : 'none')))
    parts.push(h('p', { id: 'message', role: 'alert' }))

    if (editable || (caps.has('table') && party)) parts.push(this.undoTools())
    if (caps.has('table') && (party || identity.mode === 'open')) parts.push(this.proposalTools(id, party))
    if (caps.has('table') && party && room.balloons) parts.push(this.balloonTools(id, party))
    if (caps.has('decide')) parts.push(this.chairTools(id, rec))
    parts.push(this.proposalList(id, party, caps))
    parts.push(room.history.clauseSection(id))
    // Others' edits redraw the panel: keep what is being typed and where the focus is.
    const kept = {}
    const checked = {}
    for (const input of this.el.querySelectorAll('input[id], select[id], textarea[id]')) {
      kept[input.id] = input.value
      if (input.type === 'checkbox' || input.type === 'radio') checked[input.id] = input.checked
    }
    const focused = this.el.contains(document.activeElement) ? document.activeElement.id : ''
    const message = this.el.querySelector('#message')
    this.el.replaceChildren(...parts)
    for (const [key, value] of Object.entries(kept)) {
      const input = this.el.querySelector('#' + key)
      if (input && (input.tagName !== 'SELECT' || [...input.options].some((o) => o.value === value))) input.value = value
      if (input && key in checked) input.checked = checked[key]
    }
    if (message && message.textContent) this.say(message.textContent, message.className === 'ok')
    if (focused) this.el.querySelector('#' + focused)?.focus()
  }

  proposalTools (id, party) {
    const { doc } = this.room
    const words = h('input', { id: 'proposal-words', type: 'text', dir: 'auto', 'aria-label': 'Words proposed' })
    const here = this.bracketsHere()
    const open = here.filter((s) => s.kind === 'bracket')
    const target = h('select', { id: 'alt-target', 'aria-label': 'Alternative to' },
      open.map((s) => h('option', { value: s.id }, `[${this.wordsOf(s, here).slice(0, 40)}]${s.party ? ' (' + s.party + ')' : ''}`)))
    const sel = () => this.room.active.editor.view.state.selection.main
    const need = (cond, msg) => { if (!cond) throw new op.OperationError(msg) }
    const button = (action, text, fn) => h('button', { type: 'button', 'data-action': action, onclick: () => { if (this.act(`${text}: tabled for ${party}`, fn)) words.value = '' } }, text)
    const section = h('section', { class: 'tools', 'aria-label': 'Table a proposal' }, h('h3', {}, party ? `Table a proposal for ${party}` : 'Table a proposal'))
    if (!party) {
      section.append(h('p', { class: 'hint' }, 'Choose the Party you act for (top right) to table proposals.'))
      return section
    }
    section.append(
      h('label', { for: 'proposal-words' }, 'Words'), words,
      h('div', { class: 'buttons' },
        button('propose-deletion', 'Propose deletion', () => {
          const s = sel(); need(s.to > s.from, 'select the words to delete first')
          op.proposeDeletion(doc, party, id, s.from, s.to)
        }),
        button('propose-replacement', 'Propose replacement', () => {
          const s = sel(); need(s.to > s.from, 'select the words to replace first'); need(words.value, 'type the new words first')
          op.proposeReplacement(doc, party, id, s.from, s.to, words.value)
        }),
        button('propose-insertion', 'Propose insertion at cursor', () => {
          need(words.value, 'type the words to insert first')
          op.proposeInsertion(doc, party, id, sel().head, words.value)
        })),
      h('label', { for: 'alt-target' }, 'Alternative to'), target,
      h('div', { class: 'buttons' },
        button('propose-alternative', 'Table alternative', () => {
          need(target.value, 'this clause has no open bracket to add an alternative to')
          need(words.value, 'type the alternative words first')
          op.proposeAlternative(doc, party, target.value, words.value)
        }),
        button('propose-new-paragraph', 'Propose new paragraph after this one', () => {
          need(words.value, 'type the new paragraph first')
          const tree = this.room.tree
          const rec = roots(doc).clauses.get(id)
          op.proposeNewParagraph(doc, party, words.value, { parent: tree.parentOf.get(id) ?? '', after: id, kind: field(rec, 'kind') === 'article' ? 'paragraph' : field(rec, 'kind') })
        }))
    )
    return section
  }

  /** A bracket's words as negotiators print them: brackets nested inside it included
   *  ("updated every [five][ten] years", not "updated every fiveten years"). `here`: the
   *  clause's brackets (`bracketsHere`), read once by the caller. */
  wordsOf (s, here) {
    const { doc, active } = this.room
    const words = roots(doc).clauses.get(active.id).get('words').toString()
    const inner = here.filter((t) => t.id !== s.id && t.depth > s.depth && t.start >= s.start && t.end <= s.end)
    const { opens, closes } = marks(inner)
    let out = ''
    for (let i = s.start; i <= s.end; i++) {
      out += ']'.repeat(closes.get(i)?.length || 0)
      if (i < s.end) out += '['.repeat(opens.get(i)?.length || 0) + words[i]
    }
    return out
  }

  chairTools (id, rec) {
    const { doc } = this.room
    const status = field(rec, 'status')
    const select = h('select', { id: 'status-select', 'aria-label': 'New status' },
      (ALLOWED[status] || []).map((s) => h('option', { value: s }, s)))
    const section = h('section', { class: 'tools', 'aria-label': 'Chair' }, h('h3', {}, 'Chair'),
      h('p', {}, 'Status: ', h('span', { class: `badge status-${status.replaceAll(' ', '-')}` }, status)),
      h('label', { for: 'status-select' }, 'Set status to'), select,
      h('button', { type: 'button', 'data-action': 'set-status', onclick: () => this.act(`Status set to ${select.value}`, () => op.setStatus(doc, id, select.value)) }, 'Set status'))
    const groups = new Map()
    const here = this.bracketsHere()
    for (const s of here) {
      if (s.kind === 'placeholder') continue
      if (!groups.has(s.group)) groups.set(s.group, [])
      groups.get(s.group).push(s)
    }
    const cb = field(rec, 'bracket')
    const cbRec = cb && roots(doc).brackets.get(cb)
    const lifts = []
    if (cbRec && field(cbRec, 'state') === 'open') {
      lifts.push(h('li', {}, 'The whole clause: ',
        h('button', { type: 'button', 'data-action': 'lift-keep', onclick: () => this.act('Clause kept', () => op.liftBracket(doc, cb, cb)) }, 'Keep the clause'),
        h('button', { type: 'button', 'data-action': 'lift-drop', onclick: () => this.act('Clause dropped', () => op.liftBracket(doc, cb, null)) }, 'Drop the clause')))
    }
    for (const members of groups.values()) {
      const first = members[0]
      lifts.push(h('li', { 'data-group': first.group },
        members.map((m) => h('button', { type: 'button', 'data-action': 'lift-keep', 'data-bracket': m.id, onclick: () => this.act('Bracket lifted', () => op.liftBracket(doc, first.id, m.id)) }, `Keep “${this.wordsOf(m, here).slice(0, 40)}”`)),
        h('button', { type: 'button', 'data-action': 'lift-drop', 'data-bracket': first.id, onclick: () => this.act('Bracket lifted, words dropped', () => op.liftBracket(doc, first.id, null)) }, members.length > 1 ? 'Drop all' : 'Drop the words')))
    }
    section.append(h('h4', {}, 'Lift brackets'), lifts.length ? h('ul', { class: 'lifts' }, lifts) : h('p', { class: 'hint' }, 'No open brackets in this clause.'))
    const options = this.optionChoice(id, rec)
    if (options) section.append(options)
    return section
  }

  /** An option block (this clause, or the block this option is in): choose one option. */
  optionChoice (id, rec) {
    const { doc, tree, numbers } = this.room
    const block = field(rec, 'kind') === 'options' ? id : field(rec, 'kind') === 'option' ? tree.parentOf.get(id) : null
    const blockRec = block && roots(doc).clauses.get(block)
    if (!blockRec || field(blockRec, 'kind') !== 'options') return null
    const chosen = field(blockRec, 'chosen')
    const options = tree.children(block).filter((c) => field(roots(doc).clauses.get(c), 'kind') === 'option')
    return h('div', { class: 'options-choice', 'data-block': block },
      h('h4', {}, 'Option block'),
      chosen ? h('p', {}, `Chosen: ${numbers.label(chosen)}`) : h('p', { class: 'hint' }, 'No option chosen yet.'),
      h('ul', {}, options.map((o) => {
        const words = roots(doc).clauses.get(o).get('words')?.toString() || ''
        return h('li', {}, h('button', {
          type: 'button',
          'data-action': 'choose-option',
          'data-option': o,
          disabled: chosen === o,
          onclick: () => this.act(`${numbers.label(o)} chosen`, () => op.chooseOption(doc, block, o))
        }, `Choose ${numbers.label(o)} “${words.slice(0, 40)}${words.length > 40 ? '…' : ''}”`))
      })))
  }

  undoTools () {
    const { undoManager } = this.room
    return h('div', { class: 'buttons undo' },
      h('button', { type: 'button', 'data-action': 'undo', title: 'Undo your own typing (Ctrl+Z)', disabled: !undoManager.canUndo(), onclick: () => { undoManager.undo(); this.render() } }, 'Undo my typing'),
      h('button', { type: 'button', 'data-action': 'redo', title: 'Redo (Ctrl+Shift+Z)', disabled: !undoManager.canRedo(), onclick: () => { undoManager.redo(); this.render() } }, 'Redo'))
  }

  /** A delegation floats a trial balloon on the selected words (or at the cursor). */
  balloonTools (id, party) {
    const { balloons, identity } = this.room
    const others = (identity.parties || []).filter((p) => p !== party)
    const words = h('textarea', { id: 'balloon-words', rows: 2, dir: 'auto', 'aria-label': 'Words of the trial balloon' })
    const radio = (value, text, isDefault) => h('label', { class: 'inline' },
      h('input', { type: 'radio', name: 'balloon-scope', id: `balloon-scope-${value}`, value, checked: isDefault }), ` ${text}`)
    const picks = h('div', { class: 'balloon-parties' },
      [party, ...others].map((p) => h('label', { class: 'inline' },
        h('input', { type: 'checkbox', id: `balloon-party-${p}`, value: p, checked: p === party }), ` ${p}`)))
    const attributed = h('input', { type: 'checkbox', id: 'balloon-attributed', checked: true })
    const message = h('p', { id: 'balloon-message', role: 'status' })
    const float = async () => {
      const s = this.room.active.editor.view.state.selection.main
      const text = words.value.trim() || this.sel.text.trim()
      if (!text) { message.className = 'error'; message.textContent = 'type the words of the balloon (or select words in the clause)'; return }
      const kind = this.el.querySelector('input[name=balloon-scope]:checked')?.value || 'parties'
      const chosen = [...picks.querySelectorAll('input:checked')].map((i) => i.value)
      if (kind === 'parties' && !chosen.length) { message.className = 'error'; message.textContent = 'choose at least one delegation'; return }
      const scope = kind === 'parties' ? { kind, parties: chosen } : kind
      try {
        await balloons.float({ clause: id, at: s.to, words: text, scope, attributed: attributed.checked })
        words.value = ''
        message.className = 'ok'
        message.textContent = 'Balloon floated'
      } catch (error) {
        message.className = 'error'
        message.textContent = `Not floated: ${error.message}`
      }
    }
    return h('section', { class: 'tools balloon-tools', 'aria-label': 'Float a trial balloon' },
      h('h3', {}, 'Float a trial balloon'),
      h('p', { class: 'hint' }, 'Informal wording, not a proposal: only the delegations you choose (and the chair) see it. The selected words are used if you type none; it stands after the selection.'),
      h('label', { for: 'balloon-words' }, 'Words'), words,
      h('fieldset', {}, h('legend', {}, 'Shown to'),
        radio('parties', 'the delegations ticked below', true), picks,
        radio('chair', 'the chair only', false),
        radio('all', 'all delegations', false)),
      h('label', { class: 'inline' }, attributed, ` Say it is ${party}'s (unattributed: only the chair and ${party} see who floated it)`),
      h('div', { class: 'buttons' }, h('button', { type: 'button', 'data-action': 'float-balloon', onclick: float }, 'Float balloon')),
      message)
  }

  proposalList (id, party, caps) {
    const { doc } = this.room
    const items = []
    roots(doc).proposals.forEach((p, pid) => {
      if (field(p, 'clause') !== id) return
      items.push([field(p, 'created'), pid, p])
    })
    items.sort()
    const section = h('section', { class: 'proposals', 'aria-label': 'Proposals on this clause' }, h('h3', {}, 'Proposals'))
    if (!items.length) {
      section.append(h('p', { class: 'hint' }, 'None yet.'))
      return section
    }
    section.append(h('ul', { id: 'proposals' }, items.map(([, pid, p]) => {
      const author = field(p, 'party')
      const status = field(p, 'status')
      const supporters = [...(p.get('supporters')?.keys() || [])].sort()
      const objectors = [...(p.get('objectors')?.keys() || [])].sort()
      const words = field(p, 'words')
      const replaced = field(p, 'replaced')
      const mine = author === party
      const canTable = caps.has('table') && party && status === 'tabled'
      const canDecide = caps.has('decide') && status === 'tabled'
      return h('li', { 'data-proposal': pid, 'data-party': author, 'data-kind': field(p, 'kind'), 'data-status': status },
        h('span', { class: 'party-tag', style: `--party-hue:${partyHue(author)}` }, author), ' ',
        h('strong', {}, field(p, 'kind')), ' · ', h('span', { class: `pstatus pstatus-${status}` }, status),
        words ? h('div', { dir: 'auto' }, `“${words}”`) : null,
        replaced ? h('div', { dir: 'auto', class: 'replaced' }, `instead of “${replaced}”`) : null,
        supporters.length ? h('div', {}, `Supported by ${supporters.join(', ')}`) : null,
        objectors.length ? h('div', {}, `Objected to by ${objectors.join(', ')}`) : null,
        canTable && !mine ? h('button', { type: 'button', 'data-action': 'support', onclick: () => this.act('Support recorded', () => op.support(doc, pid, party)) }, `Support (${party})`) : null,
        canTable && !mine ? h('button', { type: 'button', 'data-action': 'object', onclick: () => this.act('Objection recorded', () => op.objectTo(doc, pid, party)) }, `Object (${party})`) : null,
        canTable && mine ? h('button', { type: 'button', 'data-action': 'withdraw', onclick: () => this.act('Proposal withdrawn', () => op.withdraw(doc, pid, party)) }, 'Withdraw') : null,
        canDecide ? h('button', { type: 'button', 'data-action': 'accept', onclick: () => this.act(`${author}'s proposal accepted`, () => op.acceptProposal(doc, pid)) }, 'Accept') : null,
        canDecide ? h('button', { type: 'button', 'data-action': 'reject', onclick: () => this.act(`${author}'s proposal rejected`, () => op.rejectProposal(doc, pid)) }, 'Reject') : null)
    })))
    return section
  }
}
