// The editor of one clause's words: CodeMirror 6 bound to the clause's Y.Text.
//
// The binding is ours rather than y-codemirror.next's ySync because new words must take
// the formatting drafting/clauses.py gives them (shared_attrs: typed inside a bracket they
// are in it, typed at its edge they are outside it), whereas a bare Yjs insert copies the
// left neighbour's attributes and would stretch another Party's bracket. Remote cursors
// are y-codemirror.next's (yRemoteSelections reads the same awareness `cursor` field).
// Brackets are drawn as widgets around the bracketed words: the words stay pure text.

import { EditorState, StateEffect, StateField } from '@codemirror/state'
import { Decoration, EditorView, ViewPlugin, WidgetType, keymap } from '@codemirror/view'
import { defaultKeymap } from '@codemirror/commands'
import { YSyncConfig, ySyncFacet, yRemoteSelections, yRemoteSelectionsTheme } from 'y-codemirror.next'
import { BR, chunks, marks, spans } from './model.js'
import { sharedAttrs } from './operations.js'

const refresh = StateEffect.define()

class BracketMark extends WidgetType {
  constructor (char, span) {
    super()
    this.char = char
    this.span = span
  }

  eq (other) { return other.char === this.char && other.span.id === this.span.id && other.span.party === this.span.party }

  toDOM () {
    const el = document.createElement('span')
    el.className = `bm bm-${this.span.kind}` + (this.span.party ? ' bm-party' : '')
    el.textContent = this.char
    el.setAttribute('aria-hidden', 'true')
    if (this.span.party) el.title = `${this.span.party}`
    return el
  }

  ignoreEvent () { return false }
}

const CHARS = { bracket: ['[', ']'], placeholder: ['{', '}'], clause: ['[', ']'] }

function bracketDecorations (doc, ytext, length) {
  if (ytext.length !== length) return Decoration.none // not in step yet: redrawn next update
  const list = spans(doc, ytext)
  const { opens, closes } = marks(list)
  const ranges = []
  for (const [pos, group] of closes) {
    for (const s of group) ranges.push(Decoration.widget({ widget: new BracketMark(CHARS[s.kind][1], s), side: -100 - s.depth }).range(pos))
  }
  for (const [pos, group] of opens) {
    for (const s of group) ranges.push(Decoration.widget({ widget: new BracketMark(CHARS[s.kind][0], s), side: 100 + s.depth }).range(pos))
  }
  for (const s of list) {
    if (s.end > s.start) {
      const title = s.party ? `${s.kind === 'placeholder' ? 'Placeholder' : 'Bracket'} of ${s.party}` : 'Bracket'
      ranges.push(Decoration.mark({ class: `br br-depth-${Math.min(s.depth, 3)}`, attributes: { title, 'data-party': s.party } }).range(s.start, s.end))
    }
  }
  return Decoration.set(ranges, true)
}

/** Keeps the Y.Text and the editor's text the same, both ways. */
function ySyncPlugin (conf, origin, onLocalEdit) {
  return ViewPlugin.fromClass(class {
    constructor (view) {
      this.view = view
      this.observer = (event, tr) => {
        if (tr.origin === origin) return
        const changes = []
        let pos = 0
        for (const d of event.delta) {
          if (d.insert != null) changes.push({ from: pos, to: pos, insert: typeof d.insert === 'string' ? d.insert : '\uFFFC' })
          else if (d.delete != null) { changes.push({ from: pos, to: pos + d.delete, insert: '' }); pos += d.delete } else pos += d.retain
        }
        view.dispatch({ changes, effects: refresh.of(null), userEvent: 'remote' })
      }
      conf.ytext.observe(this.observer)
    }

    update (update) {
      if (!update.docChanged) return
      if (update.transactions.every((t) => t.isUserEvent('remote'))) return
      const ytext = conf.ytext
      ytext.doc.transact(() => {
        let adj = 0
        update.changes.iterChanges((fromA, toA, fromB, toB, insert) => {
          const text = insert.sliceString(0, insert.length, '\n')
          const at = fromA + adj
          const attrs = sharedAttrs(ytext, at) // before deleting: a replacement keeps its place
          if (toA > fromA) ytext.delete(at, toA - fromA)
          if (text.length) ytext.insert(at, text, attrs) // named: Yjs writes exactly these
          adj += text.length - (toA - fromA)
        })
      }, origin)
      onLocalEdit && onLocalEdit()
    }

    destroy () { conf.ytext.unobserve(this.observer) }
  })
}

/**
 * Which edits a delegate may type (drafting/permissions.py `_words`): new words must land
 * inside one of their Party's brackets (they take the attributes sharedAttrs gives them),
 * and deleted words must all be inside one. Anything else would be refused by the server.
 */
function ownBracketsOnly (doc, ytext, party, onBlocked) {
  const own = (attrs) => Object.keys(attrs).some((k) => {
    if (!k.startsWith(BR) || !attrs[k]) return false
    const rec = doc.getMap('brackets').get(k.slice(BR.length))
    return !!rec && rec.get('party') === party
  })
  return EditorState.changeFilter.of((tr) => {
    if (!tr.docChanged || tr.isUserEvent('remote')) return true
    let ok = true
    const pieces = chunks(ytext)
    tr.changes.iterChanges((fromA, toA, _fromB, _toB, insert) => {
      if (!ok) return
      if (toA > fromA && pieces.some((c) => c.start < toA && fromA < c.end && !own(c.attrs))) ok = false
      if (insert.length && !own(sharedAttrs(ytext, fromA))) ok = false
    })
    if (!ok) onBlocked && onBlocked()
    return ok
  })
}

/**
 * Mount an editor for `ytext` in `parent`. `editable` false gives a read-only editor in
 * which words can still be selected (to table a proposal on them); `party` set limits
 * typing to that Party's own brackets (a delegate). Local edits are transactions of
 * `origin`, which `undoManager` (a Y.UndoManager tracking that origin) undoes.
 */
export function mountEditor ({ parent, doc, ytext, awareness, editable, party, origin, undoManager, onBlocked, onSelection, onEscape, label }) {
  const conf = new YSyncConfig(ytext, awareness)
  const undo = () => { if (undoManager) undoManager.undo(); return true }
  const redo = () => { if (undoManager) undoManager.redo(); return true }
  const brackets = StateField.define({
    create: (state) => bracketDecorations(doc, ytext, state.doc.length),
    update: (value, tr) => {
      if (tr.docChanged || tr.effects.some((e) => e.is(refresh))) return bracketDecorations(doc, ytext, tr.state.doc.length)
      return value
    },
    provide: (f) => EditorView.decorations.from(f)
  })
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: ytext.toString(),
      extensions: [
        ySyncFacet.of(conf),
        ySyncPlugin(conf, origin),
        yRemoteSelectionsTheme,
        yRemoteSelections,
        brackets,
        EditorView.lineWrapping,
        EditorState.readOnly.of(!editable),
        party ? ownBracketsOnly(doc, ytext, party, onBlocked) : [],
        EditorView.contentAttributes.of({ dir: 'auto', 'aria-label': label, 'aria-readonly': String(!editable) }),
        keymap.of([
          { key: 'Escape', run: () => { onEscape && onEscape(); return true } },
          { key: 'Mod-z', run: undo, preventDefault: true },
          { key: 'Mod-Shift-z', run: redo, preventDefault: true },
          { key: 'Mod-y', run: redo, preventDefault: true },
          ...defaultKeymap]),
        EditorView.updateListener.of((u) => {
          if (u.selectionSet || u.docChanged) {
            const sel = u.state.selection.main
            onSelection && onSelection({ from: sel.from, to: sel.to, text: u.state.sliceDoc(sel.from, sel.to) })
          }
        })
      ]
    })
  })
  // Bracket records change without the words changing (a lift, a new Party): redraw.
  const bracketsMap = doc.getMap('brackets')
  const redraw = () => queueMicrotask(() => { if (view.dom.isConnected) view.dispatch({ effects: refresh.of(null) }) })
  bracketsMap.observeDeep(redraw)
  return {
    view,
    destroy () {
      bracketsMap.unobserveDeep(redraw)
      view.destroy()
    }
  }
}
