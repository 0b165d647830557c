// A real Yjs client (npm yjs + y-websocket) driven by a JSON script, for the sync tests.
//
//   node tests/js/yclient.cjs ws://127.0.0.1:PORT/ws TEXT_ID '<script json>'
//
// The script: {"edits": [...], "until": {...}, "timeout_ms": 10000}
//   edit  {"clause": ID, "insert": TEXT, "at": "start"|"end"|N (UTF-16), "attrs": {...}}
//         {"clause": ID, "format": [INDEX, LENGTH], "attrs": {...}}
//         {"clause": ID, "delete": [INDEX, LENGTH]}
//         {"new_clause": ID, "words": TEXT, "kind": "paragraph", "parent": "", "order": "z"}
//   until {"contains": [[CLAUSE, TEXT], ...]} — wait until every clause holds its text
// Prints one JSON line: {"clauses": {id: {"words": str, "delta": [...], "kind": ...}}}.
'use strict'
const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const WebSocket = require('ws')

const [url, textId, scriptJson] = process.argv.slice(2)
const script = JSON.parse(scriptJson || '{}')
const doc = new Y.Doc()
const provider = new WebsocketProvider(url, textId, doc, {
  WebSocketPolyfill: WebSocket,
  disableBc: true, // two providers in one process would otherwise sync without the server
  params: script.token ? { token: script.token } : {}, // ?token=… : how scripts sign in
  connect: true
})

function clauses () { return doc.getMap('clauses') }

function words (id) {
  const clause = clauses().get(id)
  if (!clause) throw new Error(`no clause ${id}`)
  return clause.get('words')
}

function applyEdit (edit) {
  doc.transact(() => {
    if (edit.new_clause) {
      const clause = new Y.Map()
      clause.set('kind', edit.kind || 'paragraph')
      clause.set('parent', edit.parent || '')
      clause.set('order', edit.order || 'z')
      clause.set('base', false)
      clause.set('number', '')
      clause.set('status', 'pending')
      clause.set('bracket', '')
      clause.set('chosen', '')
      clause.set('party', '')
      clause.set('created', new Date().toISOString())
      const text = new Y.Text()
      clause.set('words', text)
      clauses().set(edit.new_clause, clause)
      text.insert(0, edit.words || '')
      return
    }
    const text = words(edit.clause)
    if (edit.insert !== undefined) {
      const at = edit.at === 'end' ? text.length : edit.at === 'start' || edit.at === undefined ? 0 : edit.at
      text.insert(at, edit.insert, edit.attrs || {})
    } else if (edit.format) {
      text.format(edit.format[0], edit.format[1], edit.attrs || {})
    } else if (edit.delete) {
      text.delete(edit.delete[0], edit.delete[1])
    }
  })
}

function done () {
  const wanted = (script.until && script.until.contains) || []
  return wanted.every(([id, piece]) => clauses().has(id) && words(id).toString().includes(piece))
}

function dump () {
  const out = {}
  clauses().forEach((clause, id) => {
    const text = clause.get('words')
    out[id] = { kind: clause.get('kind'), words: text.toString(), delta: text.toDelta() }
  })
  return out
}

const timeout = setTimeout(() => {
  process.stderr.write(`timeout; have ${JSON.stringify(dump())}\n`)
  process.exit(3)
}, script.timeout_ms || 15000)

provider.on('sync', (synced) => {
  if (!synced || provider._travauxStarted) return
  provider._travauxStarted = true
  for (const edit of script.edits || []) applyEdit(edit)
  const check = () => {
    if (!done()) return
    doc.off('update', check)
    // Let our own last updates reach the server before leaving.
    setTimeout(() => {
      clearTimeout(timeout)
      process.stdout.write(JSON.stringify({ clauses: dump() }) + '\n')
      provider.destroy()
      process.exit(0)
    }, script.linger_ms || 300)
  }
  doc.on('update', check)
  check()
})
