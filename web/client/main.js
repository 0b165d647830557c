// The drafting room: one negotiation text, live. Entry point of the bundle (web/static/room.js).
//
//   identity.js    who is here and what the page offers them
//   model.js       reading the Y.Doc as drafting/ reads it (outline, numbers, brackets, counts)
//   operations.js  writing it as drafting/ writes it (proposals, lifts, statuses)
//   editor.js      CodeMirror bound to one clause's words
//   render.js      the outline, the clauses, the counters
//   panel.js       the tools for the clause in hand
//
// The document comes from IndexedDB first (y-indexeddb: what was typed offline, also
// before a reload) and from the server over y-websocket; both merge as CRDT updates.

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence } from 'y-indexeddb'
import * as authProtocol from 'y-protocols/auth'
import { loadIdentity, signIn, signOut } from './identity.js'
import { roots } from './model.js'
import { setNegotiationParties } from './operations.js'
import { Room } from './render.js'
import { Balloons } from './balloons.js'
import { setCsrf } from './api.js'
import { h } from './dom.js'

const MESSAGE_AUTH = 2 // y-websocket's outer message type for auth frames
const COLORS = ['#b5179e', '#0077b6', '#2a9d8f', '#e76f51', '#6a4c93', '#d62828', '#386641', '#8d5524']

function signInForm (root) {
  const error = h('p', { class: 'error', role: 'alert' })
  const login = h('input', { id: 'login', name: 'login', autocomplete: 'username', required: true })
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true })
  const form = h('form', { class: 'signin', 'aria-label': 'Sign in' },
    h('h1', {}, 'Sign in to Travaux'),
    h('label', { for: 'login' }, 'Login'), login,
    h('label', { for: 'password' }, 'Password'), password,
    h('button', { type: 'submit' }, 'Sign in'), error)
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const problem = await signIn(login.value, password.value)
    if (problem) error.textContent = problem
    else location.reload()
  })
  root.replaceChildren(form)
  login.focus()
}

async function main () {
  const root = document.getElementById('room')
  const textId = root.dataset.textId
  const identity = await loadIdentity(textId)
  if (identity.mode === 'signed-out') return signInForm(root)

  setNegotiationParties(identity.parties || [])
  setCsrf(identity.csrf)
  const doc = new Y.Doc()
  const who = identity.login || 'anonymous'
  const local = new IndexeddbPersistence(`travaux:${textId}:${who}`, doc)
  await Promise.race([local.whenSynced, new Promise((resolve) => setTimeout(resolve, 3000))])

  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  const wsBase = `${scheme}//${location.host}/ws`
  const provider = new WebsocketProvider(wsBase, textId, doc, { connect: false, maxBackoffTime: 2500 })
  const color = COLORS[Math.abs([...who].reduce((a, c) => a * 31 + c.charCodeAt(0), 7)) % COLORS.length]
  provider.awareness.setLocalStateField('user', { name: identity.name || who, party: identity.party, role: identity.role, color })

  // Trial balloons: one document per scope this person may open, never kept in IndexedDB
  // (a withdrawn balloon must leave no copy behind). Not on a server without sign-in.
  const balloons = identity.mode === 'signed-in' ? new Balloons({ textId, identity, textDoc: doc, wsBase }) : null
  const room = new Room({ root, doc, provider, identity, textId, balloons })
  window.travaux = { doc, provider, room, identity, local, Y, roots, balloons }

  // A refused update: the server closed the socket (1008) after an `auth` frame. The
  // refused change is still in this browser's copy (a CRDT cannot take it back), so that
  // copy is thrown away and the text is read again from the server.
  let refused = null
  const onRefused = async (reason) => {
    if (refused) return
    refused = reason || 'the server refused a change'
    room.setConnection('refused', `Change refused: ${refused}. Reloading the text from the server…`)
    provider.shouldConnect = false
    provider.disconnect()
    await local.clearData()
    setTimeout(() => location.reload(), 1500)
  }
  provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
    authProtocol.readAuthMessage(decoder, doc, (_doc, reason) => onRefused(reason))
  }
  provider.on('connection-close', (event) => {
    if (event && event.code === 1008) onRefused(event.reason)
  })
  provider.on('status', ({ status }) => room.setConnection(status))
  provider.on('sync', (synced) => room.setConnection(synced ? 'synced' : 'connected'))
  window.addEventListener('offline', () => { provider.disconnect(); room.setConnection('offline') })
  window.addEventListener('online', () => { if (!refused) provider.connect() })

  room.onSignOut = async () => {
    await signOut(identity.csrf)
    location.reload()
  }
  room.start()
  if (balloons) balloons.start()
  if (navigator.onLine) provider.connect()
  else room.setConnection('offline')
}

main().catch((error) => {
  console.error(error)
  const root = document.getElementById('room')
  if (root) root.prepend(h('p', { class: 'error', role: 'alert' }, `The drafting room could not start: ${error.message}`))
})
