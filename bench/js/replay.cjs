'use strict'
// Concurrent trace replay (josephg/editing-traces "concurrent" format), one client per agent.
//
//   node bench/js/replay.cjs plan '{"trace": "friendsforever.json.gz", "out": "plan.json",
//                                   "limit": N}'   (N: the first N transactions only)
//   node bench/js/replay.cjs play '{"plan": "plan.json", "agent": 0, "url": …, "room": …}'
//
// A transaction's positions are relative to the document its *parents* name, i.e. to its
// agent's view at that moment, not to the live document (which may already hold the other
// agent's concurrent edits). `plan` replays the trace offline with one Y.Doc per agent,
// each brought to exactly the parents' version before each transaction, and records the
// Yjs update each transaction makes there. Agents get fixed client ids. It also records,
// per transaction, the other agents' clocks its parents include (what must have arrived
// before it may be sent).
//
// `play` is one live client (a real WebsocketProvider): as soon as its own next
// transaction's parents have arrived through the server it applies that transaction's
// update to its document, which sends it. Making the edit again on the live document
// instead would give an insert other neighbours whenever the other agent's concurrent
// insert at the same place has already arrived, and the order of the two would then
// depend on timing: under CPU load, 3 of 8 such replays ended with both clients holding
// the same text in another order than endContent. With the updates as their agents made
// them, every CRDT that converges ends at endContent, whatever the timing.

const fs = require('fs')
const crypto = require('crypto')
const zlib = require('zlib')
const { Y, now, emit, onCommands, openProvider, whenSynced, sleep } = require('./common.cjs')

const [mode, rawConfig] = process.argv.slice(2)
const config = JSON.parse(rawConfig)
const CLIENT_BASE = 7000001
const clientOf = (agent) => CLIENT_BASE + agent

// -- plan --------------------------------------------------------------------------------
const codePointsToUtf16 = (s, position) => {
  let offset = 0
  for (let k = 0; k < position; k++) offset += s.codePointAt(offset) > 0xffff ? 2 : 1
  return offset
}

/** A trace transaction's patches, [position in code points, deleted, inserted] each. */
const applyPatches = (text, patches, ascii) => {
  for (const [position, deleted, inserted] of patches) {
    const content = ascii ? null : text.toString()
    const at = ascii ? position : codePointsToUtf16(content, position)
    const end = ascii ? position + deleted : codePointsToUtf16(content, position + deleted)
    if (end > at) text.delete(at, end - at)
    if (inserted.length > 0) text.insert(at, inserted)
  }
}

const plan = () => {
  const started = now()
  const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(config.trace)).toString('utf8'))
  const ascii = trace.txns.every((t) => t.patches.every(([, , s]) => /^[\x00-\x7f]*$/.test(s)))
  const agents = trace.numAgents
  const docs = []
  const applied = []
  for (let a = 0; a < agents; a++) {
    const doc = new Y.Doc({ gc: false })
    doc.clientID = clientOf(a)
    docs.push(doc)
    applied.push(new Set())
  }
  const updates = []
  const txns = []
  const limit = Math.min(config.limit || trace.txns.length, trace.txns.length)
  trace.txns.slice(0, limit).forEach((txn, i) => {
    const a = txn.agent
    const doc = docs[a]
    const stack = [...txn.parents]
    while (stack.length > 0) {
      const j = stack.pop()
      if (applied[a].has(j)) continue
      applied[a].add(j)
      Y.applyUpdate(doc, updates[j])
      stack.push(...trace.txns[j].parents)
    }
    const needs = []
    for (let b = 0; b < agents; b++) {
      const clock = Y.getState(doc.store, clientOf(b))
      if (b !== a && clock > 0) needs.push([clientOf(b), clock])
    }
    let update = new Uint8Array()
    const capture = (u) => { update = u }
    doc.on('update', capture)
    doc.transact(() => applyPatches(doc.getText('bench'), txn.patches, ascii))
    doc.off('update', capture)
    updates.push(update)
    applied[a].add(i)
    txns.push({ agent: a, needs, update: Buffer.from(update).toString('base64') })
  })
  const merged = new Y.Doc()
  for (const doc of docs) Y.applyUpdate(merged, Y.encodeStateAsUpdate(doc))
  // A prefix of the trace has no endContent of its own: the offline result stands for it.
  const content = merged.getText('bench').toString()
  const planOk = limit < trace.txns.length || content === trace.endContent
  fs.writeFileSync(config.out, JSON.stringify({
    agents,
    clients: docs.map((d) => d.clientID),
    endContent: limit < trace.txns.length ? content : trace.endContent,
    txns
  }))
  emit('planned', { txns: txns.length, agents, planOk, ms: now() - started })
}

// -- play --------------------------------------------------------------------------------
const play = async () => {
  const { endContent, txns } = JSON.parse(fs.readFileSync(config.plan, 'utf8'))
  const agent = config.agent
  const mine = txns.filter((t) => t.agent === agent)
  const doc = new Y.Doc({ gc: false })
  doc.clientID = clientOf(agent)
  const text = doc.getText('bench')
  const state = { user: { name: `Agent ${agent}`, color: agent ? '#b00' : '#00b' }, clause: 'art-1' }
  const provider = openProvider(config.url, config.room, doc, state)
  let connects = 0
  provider.on('status', ({ status }) => {
    if (status === 'connected') connects += 1
  })
  let wake = null
  doc.on('update', () => {
    if (wake !== null) wake()
  })
  const ready = (needs) => needs.every(([client, clock]) => Y.getState(doc.store, client) >= clock)
  const waitUntil = async (condition, deadline) => {
    while (!condition()) {
      if (now() > deadline) return false
      await new Promise((resolve) => {
        wake = resolve
        setTimeout(resolve, 50)
      })
      wake = null
    }
    return true
  }
  const synced = await whenSynced(provider, 30000)
  emit('ready', { synced, txns: mine.length })
  onCommands({
    go: async () => {
      const t0 = now()
      const deadline = t0 + (config.timeoutMs || 120000)
      let waits = 0
      let applied = 0
      let stuck = null // what the first transaction it could not apply was waiting for
      for (const txn of mine) {
        if (!ready(txn.needs)) {
          waits += 1
          if (!(await waitUntil(() => ready(txn.needs), deadline))) {
            stuck = txn.needs.map(([client, clock]) => ({ client, clock, have: Y.getState(doc.store, client) }))
            break
          }
        }
        Y.applyUpdate(doc, Buffer.from(txn.update, 'base64'), 'replay')
        applied += 1
        await new Promise(setImmediate)
      }
      const tOwn = now()
      const converged = await waitUntil(() => text.toString() === endContent, deadline)
      emit('done', {
        t0,
        tOwn,
        tConverged: now(),
        converged,
        waits,
        applied,
        own: mine.length,
        stuck,
        pending: doc.store.pendingStructs !== null,
        connects,
        textHash: crypto.createHash('sha1').update(text.toString()).digest('hex'),
        length: text.length,
        expectedLength: endContent.length,
        closeCodes: provider.closeCodes
      })
    },
    exit: async () => {
      provider.destroy()
      await sleep(100)
      process.exit(0)
    }
  })
}

if (mode === 'plan') plan()
else if (mode === 'play') play().catch((error) => emit('error', { message: String(error.stack || error) }))
else throw new Error(`unknown mode ${mode}`)
