// Exports: Akoma Ntoso and Word downloads of the text, for the roles with the export right.
//
//   GET /api/texts/{id}/export?format=akn|docx&mode=clean|negotiation|redline[&from=ID]
//
// The file is fetched (so that a refusal is read, not saved as a file) and handed to the
// browser as a download named by the server. A clean export of a text whose brackets are
// still open is refused (409) with the brackets listed: the page says so and offers the
// clean text with its brackets kept (keep_brackets=1). A redline compares an earlier
// state with this text as it stands: one of this text's revisions
//
//   GET /api/texts/{id}/revisions/now/export?format=docx&mode=redline&from=N
//
// or another stored text of the negotiation (`from=ID` of the route above). See
// docs/EXPORTS.md.

import { download } from './api.js'
import { h } from './dom.js'

const CHOICES = [
  ['akn', 'clean', 'Akoma Ntoso — clean'],
  ['akn', 'negotiation', 'Akoma Ntoso — negotiation'],
  ['docx', 'clean', 'Word — clean'],
  ['docx', 'negotiation', 'Word — negotiation'],
  ['docx', 'redline', 'Word — redline']
]

export function exportMenu (room) {
  const { textId, identity } = room
  const message = h('p', { id: 'export-message', role: 'status' })
  const others = (identity.texts || []).filter((t) => t.id !== textId)
  const base = `/api/texts/${encodeURIComponent(textId)}`
  // "Redline from": this text's revisions (to now), then the negotiation's other texts.
  // Until someone picks, the latest revision is the one offered (the changes since it).
  const from = h('select', { id: 'redline-from', 'aria-label': 'Redline: the earlier version' })
  let picked = false
  from.addEventListener('change', () => { picked = true })
  const fill = (revisions) => {
    const keep = from.value
    const latest = revisions.length ? `rev:${revisions[revisions.length - 1].number}` : ''
    const chosen = picked ? keep : latest || keep
    const groups = [h('optgroup', { label: 'Texts' },
      others.map((t) => h('option', { value: t.id }, t.title)),
      h('option', { value: textId }, others.length ? 'this text itself (no changes)' : 'this text itself (the only text: no changes)'))]
    if (revisions.length) {
      groups.unshift(h('optgroup', { label: 'Revisions of this text (to now)' }, [...revisions].reverse().map((r) =>
        h('option', { value: `rev:${r.number}`, 'data-revision': r.number }, `${r.label} of this text`))))
    }
    from.replaceChildren(...groups)
    if (chosen && [...from.options].some((o) => o.value === chosen)) from.value = chosen
  }
  fill(room.history.revisions)
  room.history.onRevisions(fill)
  const get = async (format, mode, extra = '') => {
    let url = `${base}/export?format=${format}&mode=${mode}${extra}`
    if (mode === 'redline') {
      const revision = from.selectedOptions[0]?.dataset.revision
      url = revision
        ? `${base}/revisions/now/export?format=docx&mode=redline&from=${encodeURIComponent(revision)}`
        : `${url}&from=${encodeURIComponent(from.value)}`
    }
    message.className = ''
    message.replaceChildren(`Preparing ${format.toUpperCase()} (${mode})…`)
    try {
      const file = await download(url, `export.${format === 'akn' ? 'xml' : 'docx'}`)
      message.className = 'ok'
      message.replaceChildren(`Downloaded ${file.name}`)
    } catch (error) {
      message.className = 'error'
      const open = error.detail?.open_brackets
      if (error.status === 409 && open) {
        message.replaceChildren(
          `Not exported: a clean text has no open brackets, and this one has ${open.length}. `,
          h('button', { type: 'button', 'data-export': `${format}-clean-kept`, onclick: () => get(format, 'clean', '&keep_brackets=1') }, 'Export it with its brackets kept'))
      } else {
        message.replaceChildren(`Not exported: ${error.message}`)
      }
    }
  }
  return h('details', { class: 'export', id: 'export' },
    h('summary', {}, 'Export'),
    h('div', { class: 'export-menu' },
      CHOICES.map(([format, mode, label]) =>
        h('button', { type: 'button', 'data-export': `${format}-${mode}`, onclick: () => get(format, mode) }, label)),
      h('label', { for: 'redline-from' }, 'Redline from'), from,
      message))
}
