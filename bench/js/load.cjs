'use strict'
// Load generator: K real y-websocket clients in one process, some of them typing.
//
//   node bench/js/load.cjs '{"url": "ws://127.0.0.1:PORT/ws", "rooms": ["id"], ...}'
//
// Each client is a `WebsocketProvider` (ws polyfill, no BroadcastChannel) with an awareness
// state like a browser's (user name, colour, clause). Writers insert one character every
// `intervalMs` into the shared Y.Text "bench" at a random position, logging
// (clientID, clock, send time). Every client logs, for each remote transaction it applies,
// which (client, clock range) arrived and when: a writer's clock advances by exactly one
// per inserted character, so the state vectors before and after each transaction name
// the items received. The orchestrator joins the logs: fan-out latency per delivery.
//
// With `"readers": "light"`, every client is a raw WebSocket connection instead: it syncs,
// announces one awareness state, and reads each update's metadata (Y.parseUpdateMeta)
// without integrating it and without echoing awareness; a light writer types into a Y.Doc
// holding the text as it joined plus its own inserts (see makeLightClient). Real clients
// cost the load generator far more CPU than the server (each integrates every update): on
// a 2-core machine that also runs the server, light ones show what the server sustains.
//
// With `"cursors": true`, a real writer also moves its awareness `cursor` to just after
// each character it types, as the browser's editor does (y-codemirror.next's relative
// positions): an awareness change per keystroke, which every other client applies and,
// y-websocket being what it is, sends back to the server.
//
// Commands on stdin: `go {"durationMs": D}`, `expect FILE`, `collect`, `status`, `exit`.
// Events on stdout: started, first, progress, ready, sent, complete, result, status.

const fs = require('fs')
const crypto = require('crypto')
const path = require('path')
const decoding = require('lib0/decoding')
const encoding = require('lib0/encoding')
const {
  Y, WS, now, emit, onCommands, openProvider, whenSynced, F64Log, sleep, LETTERS, awarenessOf, encoded: frame
} = require('./common.cjs')

const config = JSON.parse(process.argv[2])
const {
  url,
  rooms,
  clients: clientCount,
  writers: writerCount = 0,
  index = 0,
  offset = 0,
  batch = 10,
  syncTimeoutMs = 120000,
  intervalMs = 200,
  out = '.',
  first = false,
  readers = 'real',
  cursors = false
} = config

/**
 * A client: `clock(id)` is how much of client `id`'s content it has, `text()` its text
 * (null for a light client), `synced` resolves at its first sync.
 * @type {Array<{writer: boolean, received: F64Log, connects: number, closeCodes: object,
 *   clock: (id: number) => number, own: number, text: () => string | null,
 *   synced: Promise<boolean>, destroy: () => void, doc?: Y.Doc}>}
 */
const clients = []
let typing = null
let finalClocks = null
let completionTimer = null

const makeClient = (i) => {
  const number = offset + i
  const doc = new Y.Doc()
  const received = new F64Log()
  doc.on('afterTransaction', (transaction) => {
    if (transaction.local) return
    const t = now()
    for (const [id, after] of transaction.afterState) {
      if (id === doc.clientID) continue
      const before = transaction.beforeState.get(id) || 0
      if (after > before) received.push(id, before, after, t)
    }
  })
  const provider = openProvider(url, rooms[number % rooms.length], doc, awarenessOf(number))
  const client = {
    writer: i < writerCount,
    received,
    connects: 0,
    closeCodes: provider.closeCodes,
    doc,
    own: doc.clientID,
    clock: (id) => Y.getState(doc.store, id),
    text: () => doc.getText('bench').toString(),
    synced: whenSynced(provider, syncTimeoutMs),
    isConnected: () => provider.wsconnected,
    isSynced: () => provider.synced,
    awareness: provider.awareness,
    destroy: () => provider.destroy()
  }
  provider.on('status', ({ status }) => {
    if (status === 'connected') client.connects += 1
  })
  clients.push(client)
  return client
}

// The readers of one process receive the same frames: each update's metadata is parsed
// once per process, not once per reader, so that the load generator's CPU goes to
// receiving (what every client must do) rather than to repeating the same decoding.
const recentMeta = new Map()
const updateMeta = (update) => {
  const key = Buffer.from(update.buffer, update.byteOffset, update.byteLength).toString('latin1')
  let meta = recentMeta.get(key)
  if (meta === undefined) {
    meta = Y.parseUpdateMeta(update)
    if (recentMeta.size >= 64) recentMeta.delete(recentMeta.keys().next().value)
    recentMeta.set(key, meta)
  }
  return meta
}

/**
 * A light client: a raw WebSocket that syncs, announces one awareness state and reads
 * each update's metadata without integrating it. A light writer also keeps a Y.Doc holding
 * the text as it was when it joined plus its own typing: it inserts among what it knows,
 * as a client that never hears from the others would, and sends each of its inserts as
 * one update. It answers the server's sync step 1 with its own state, like any client.
 */
const makeLightClient = (i, writer) => {
  const number = offset + i
  const doc = writer ? new Y.Doc() : null
  const own = doc ? doc.clientID : Math.floor(Math.random() * 0xffffffff)
  const received = new F64Log()
  const marks = new Map()
  const closeCodes = {}
  const socket = new WS(`${url}/${rooms[number % rooms.length]}`, { perMessageDeflate: false })
  let resolveSynced = null
  let isSynced = false
  const synced = new Promise((resolve) => {
    resolveSynced = resolve
    setTimeout(() => resolve(false), syncTimeoutMs)
  })
  const client = {
    writer,
    received,
    connects: 0,
    closeCodes,
    own,
    doc,
    clock: (id) => marks.get(id) || 0,
    text: () => null,
    synced,
    isConnected: () => socket.readyState === WS.OPEN,
    isSynced: () => isSynced,
    destroy: () => socket.terminate()
  }
  const syncFrame = (kind, payload) => frame((e) => {
    encoding.writeVarUint(e, 0)
    encoding.writeVarUint(e, kind)
    encoding.writeVarUint8Array(e, payload)
  })
  if (doc !== null) {
    doc.on('update', (update, origin) => {
      if (origin !== 'server' && socket.readyState === WS.OPEN) socket.send(syncFrame(2, update))
    })
  }
  socket.on('open', () => {
    client.connects += 1
    socket.send(syncFrame(0, doc ? Y.encodeStateVector(doc) : new Uint8Array([0])))
    const state = frame((e) => {
      encoding.writeVarUint(e, 1)
      encoding.writeVarUint(e, own)
      encoding.writeVarUint(e, 1)
      encoding.writeVarString(e, JSON.stringify(awarenessOf(number)))
    })
    socket.send(frame((e) => { encoding.writeVarUint(e, 1); encoding.writeVarUint8Array(e, state) }))
  })
  socket.on('message', (data) => {
    const t = now()
    const decoder = decoding.createDecoder(new Uint8Array(data))
    if (decoding.readVarUint(decoder) !== 0) return // awareness: read, not echoed
    const kind = decoding.readVarUint(decoder)
    const payload = decoding.readVarUint8Array(decoder)
    if (kind === 0) {
      socket.send(syncFrame(1, doc ? Y.encodeStateAsUpdate(doc, payload) : new Uint8Array([0, 0])))
      return
    }
    if (kind === 1 && doc !== null && !isSynced) Y.applyUpdate(doc, payload, 'server')
    const meta = updateMeta(payload)
    for (const [id, to] of meta.to) {
      if (id === own) continue // its own inserts, echoed in a merged frame
      const start = Math.max(meta.from.get(id), marks.get(id) || 0)
      if (to > start) {
        received.push(id, start, to, t)
        marks.set(id, to)
      }
    }
    if (kind === 1) {
      isSynced = true
      resolveSynced(true)
    }
  })
  socket.on('close', (code) => { closeCodes[code] = (closeCodes[code] || 0) + 1 })
  socket.on('error', () => {})
  clients.push(client)
  return client
}

const open = (i) => (readers === 'light' ? makeLightClient(i, i < writerCount) : makeClient(i))

const join = async () => {
  let synced = 0
  let reported = 0
  const count = (ok) => {
    if (!ok) return
    synced += 1
    if (now() - reported > 500) {
      reported = now()
      emit('progress', { synced, clients: clientCount })
    }
  }
  let start = 0
  if (first && clientCount > 0) {
    count(await open(0).synced)
    emit('first', { synced })
    start = 1
  }
  for (let i = start; i < clientCount; i += batch) {
    const opened = []
    for (let j = i; j < Math.min(i + batch, clientCount); j++) opened.push(open(j))
    await Promise.all(opened.map((c) => c.synced.then(count)))
  }
  emit('progress', { synced, clients: clientCount })
  emit('ready', { synced, clients: clientCount })
}

// -- typing ----------------------------------------------------------------------------
const startTyping = ({ durationMs }) => {
  const t0 = now()
  const sends = new F64Log()
  const writers = clients.filter((c) => c.writer)
  let pending = writers.length
  const finish = () => {
    const file = path.join(out, `sends-${index}.json`)
    const byClient = {}
    for (let k = 0; k < sends.length; k += 3) {
      const id = sends.data[k]
      const clock = sends.data[k + 1]
      const list = (byClient[id] = byClient[id] || [])
      if (clock !== list.length) emit('error', { message: `writer ${id} clock ${clock} != ${list.length}` })
      list.push(sends.data[k + 2])
    }
    fs.writeFileSync(file, JSON.stringify(byClient))
    emit('sent', { file, inserts: sends.length / 3, t0, t1: now() })
  }
  if (pending === 0) {
    setTimeout(finish, durationMs)
    return
  }
  for (const writer of writers) {
    const text = writer.doc.getText('bench')
    const phase = Math.random() * intervalMs
    let k = 0
    const tick = () => {
      const due = t0 + phase + k * intervalMs
      if (due > t0 + durationMs) {
        pending -= 1
        if (pending === 0) finish()
        return
      }
      const wait = due - now()
      if (wait > 1) {
        setTimeout(tick, wait)
        return
      }
      const clock = Y.getState(writer.doc.store, writer.doc.clientID)
      const position = Math.floor(Math.random() * (text.length + 1))
      const sentAt = now()
      text.insert(position, LETTERS[k % LETTERS.length])
      if (cursors && writer.awareness) {
        const at = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, position + 1))
        writer.awareness.setLocalStateField('cursor', { anchor: at, head: at })
      }
      sends.push(writer.doc.clientID, clock, sentAt)
      k += 1
      setImmediate(tick)
    }
    setTimeout(tick, phase)
  }
  typing = { t0 }
}

// -- completion and results --------------------------------------------------------------
const clientComplete = (client) => {
  for (const [id, count] of finalClocks) {
    if (id !== client.own && client.clock(id) < count) return false
  }
  return true
}

const expect = (file) => {
  const sends = JSON.parse(fs.readFileSync(file, 'utf8'))
  finalClocks = Object.entries(sends).map(([id, times]) => [Number(id), times.length])
  const check = () => {
    if (clients.every(clientComplete)) {
      emit('complete', {})
      return
    }
    completionTimer = setTimeout(check, 25)
  }
  check()
  return sends
}

let sendTimes = null

const collect = () => {
  if (completionTimer !== null) clearTimeout(completionTimer)
  const latencies = new F64Log(1 << 16)
  let unknown = 0
  let lastReceived = 0
  for (const client of clients) {
    const log = client.received
    for (let k = 0; k < log.length; k += 4) {
      const times = sendTimes[log.data[k]]
      const t = log.data[k + 3]
      for (let clock = log.data[k + 1]; clock < log.data[k + 2]; clock++) {
        if (times === undefined || clock >= times.length) {
          unknown += 1
          continue
        }
        latencies.push(t - times[clock])
        if (t > lastReceived) lastReceived = t
      }
    }
  }
  let expected = 0
  for (const client of clients) {
    for (const [id, count] of finalClocks) if (id !== client.own) expected += count
  }
  const file = path.join(out, `lat-${index}.f32`)
  fs.writeFileSync(file, Buffer.from(Float32Array.from(latencies.data.subarray(0, latencies.length)).buffer))
  const texts = {}
  const closeCodes = {}
  let reconnects = 0
  for (const client of clients) {
    const content = client.text()
    if (content !== null) {
      const key = `${content.length}:${crypto.createHash('sha1').update(content).digest('hex').slice(0, 12)}`
      texts[key] = (texts[key] || 0) + 1
    }
    reconnects += Math.max(0, client.connects - 1)
    for (const [code, n] of Object.entries(client.closeCodes)) closeCodes[code] = (closeCodes[code] || 0) + n
  }
  emit('result', {
    file,
    delivered: latencies.length,
    expected,
    unknown,
    lastReceived,
    texts,
    reconnects,
    closeCodes,
    typingStart: typing ? typing.t0 : null
  })
}

const shutdown = async () => {
  for (const client of clients) client.destroy()
  await sleep(200)
  process.exit(0)
}

/** Where the clients stand: reported when the orchestrator gives up waiting on a join. */
const status = () => {
  const closeCodes = {}
  let connected = 0
  let synced = 0
  for (const client of clients) {
    if (client.isConnected()) connected += 1
    if (client.isSynced()) synced += 1
    for (const [code, n] of Object.entries(client.closeCodes)) closeCodes[code] = (closeCodes[code] || 0) + n
  }
  emit('status', { clients: clients.length, connected, synced, closeCodes })
}

onCommands({
  status,
  go: (argument) => startTyping(JSON.parse(argument)),
  expect: (file) => {
    sendTimes = expect(file)
  },
  collect,
  exit: shutdown
})

emit('started', { pid: process.pid })
join().catch((error) => emit('error', { message: String(error.stack || error) }))
