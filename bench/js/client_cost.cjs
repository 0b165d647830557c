'use strict'
// What real Yjs clients cost to run, without a server or sockets: the CPU that K
// `WebsocketProvider` clients spend receiving the frames of the fan-out scenario.
//
//   node bench/js/client_cost.cjs '{"clients": 125, "writers": 50, "population": 500,
//                                   "tickMs": 20, "durationMs": 10000}'
//
// First, untimed, the stream is made: `writers` documents type one character every
// `intervalMs` (random phase, random position, each writer holding every earlier frame,
// as real writers do); what they type within one tick of `tickMs` is merged into one
// update frame (`Y.mergeUpdates`), as this server's fan-out does (`tickMs: 0`: one frame
// per keystroke, as a server that forwards each update does). The `population` clients
// of the room renew their awareness states every 15 s (y-protocols); a tick's renewals
// make one awareness frame, or (`renewalMs` > 0) those of `renewalMs` together, as this
// server gathers them (`Limits.renewal_seconds`).
//
// Then, timed, each of `clients` real providers (y-websocket's `WebsocketProvider` on a
// socket object that only counts what is sent) is given every frame through the
// provider's own `onmessage`, as `ws` hands it a message: Yjs integration, the 'update'
// event the provider listens to, awareness applied and echoed. The result is the CPU
// those clients need per second of the stream: what 500 real clients ask of a machine
// that also has to run a server, whatever the server.

const encoding = require('lib0/encoding')
const { Y, emit, LETTERS, awarenessOf, encoded: message } = require('./common.cjs')
const { WebsocketProvider } = require('y-websocket')

const config = JSON.parse(process.argv[2] || '{}')
const {
  clients: clientCount = 125,
  writers: writerCount = 50,
  population = 500,
  intervalMs = 200,
  renewMs = 15000,
  tickMs = 20,
  renewalMs = 0,
  durationMs = 10000,
  seed = 1
} = config

// A small deterministic generator: every run makes the same stream.
let state = seed >>> 0
const random = () => {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0
  return state / 0x100000000
}

const syncFrame = (kind, payload) => message((e) => {
  encoding.writeVarUint(e, 0)
  encoding.writeVarUint(e, kind)
  encoding.writeVarUint8Array(e, payload)
})

const awarenessFrame = (entries) => message((e) => {
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint8Array(e, message((inner) => {
    encoding.writeVarUint(inner, entries.length)
    for (const [client, clock, json] of entries) {
      encoding.writeVarUint(inner, client)
      encoding.writeVarUint(inner, clock)
      encoding.writeVarString(inner, json)
    }
  }))
})

const stateOf = (number) => JSON.stringify(awarenessOf(number))

/** The frames of `durationMs` of typing: [{at, frames: [Uint8Array]}] per tick. */
const makeStream = () => {
  const writers = []
  for (let w = 0; w < writerCount; w++) {
    const doc = new Y.Doc()
    const typed = []
    doc.on('update', (update, origin) => { if (origin !== 'frame') typed.push(update) })
    writers.push({ doc, text: doc.getText('bench'), typed, phase: random() * intervalMs, k: 0 })
  }
  const people = []
  for (let p = 0; p < population; p++) {
    people.push({ client: 1000000 + p, clock: 1, json: stateOf(p), next: random() * renewMs })
  }
  const snapshot = awarenessFrame(people.map((p) => [p.client, p.clock, p.json]))
  const keystrokes = []
  for (const writer of writers) {
    for (let at = writer.phase; at < durationMs; at += intervalMs) keystrokes.push([at, writer])
  }
  keystrokes.sort((a, b) => a[0] - b[0])
  const ticks = []
  const step = tickMs > 0 ? tickMs : null
  let i = 0
  const flush = (at, updates, renewals) => {
    const frames = []
    if (updates.length > 0) {
      const merged = updates.length === 1 ? updates[0] : Y.mergeUpdates(updates)
      for (const writer of writers) Y.applyUpdate(writer.doc, merged, 'frame')
      frames.push(syncFrame(2, merged))
    }
    if (renewals.length > 0) frames.push(awarenessFrame(renewals))
    if (frames.length > 0) ticks.push({ at, frames })
  }
  const renewalsUntil = (end) => {
    const due = []
    for (const person of people) {
      while (person.next < end) {
        person.clock += 1
        person.next += renewMs
        due.push([person.client, person.clock, person.json])
      }
    }
    return due
  }
  if (step === null) { // one frame per keystroke, renewals at their own moments
    for (const [at, writer] of keystrokes) {
      flush(at, [type(writer)], renewalsUntil(at))
    }
  } else {
    let renewalsDue = renewalMs
    for (let end = step; end <= durationMs + step; end += step) {
      const updates = []
      while (i < keystrokes.length && keystrokes[i][0] < end) updates.push(type(keystrokes[i++][1]))
      const renewing = renewalMs <= 0 || end >= renewalsDue
      if (renewing) renewalsDue += renewalMs
      flush(end, updates, renewing ? renewalsUntil(Math.min(end, durationMs)) : [])
    }
  }
  return { ticks, snapshot, keystrokes: keystrokes.length }
}

function type (writer) {
  writer.typed.length = 0
  const position = Math.floor(random() * (writer.text.length + 1))
  writer.text.insert(position, LETTERS[writer.k++ % LETTERS.length])
  return writer.typed[0]
}

/** A socket that opens at once and sends nowhere. */
class NullSocket {
  constructor () {
    this.sent = 0
    this.readyState = 1
    queueMicrotask(() => this.onopen && this.onopen())
  }

  send () { this.sent += 1 }
  close () {}
}
NullSocket.OPEN = 1

const openClients = async () => {
  const providers = []
  for (let c = 0; c < clientCount; c++) {
    const doc = new Y.Doc()
    const provider = new WebsocketProvider('ws://null', 'bench', doc, {
      WebSocketPolyfill: NullSocket, disableBc: true, connect: true, resyncInterval: -1
    })
    provider.awareness.setLocalState(JSON.parse(stateOf(population + c)))
    providers.push(provider)
  }
  await new Promise((resolve) => setTimeout(resolve, 10)) // the sockets' onopen
  return providers
}

// As `ws` hands a message to its listener: a fresh ArrayBuffer per socket.
const deliver = (provider, frame) => {
  provider.ws.onmessage({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) })
}

const main = async () => {
  const stream = makeStream()
  const providers = await openClients()
  const emptyStep2 = syncFrame(1, Y.encodeStateAsUpdate(new Y.Doc()))
  for (const provider of providers) {
    deliver(provider, emptyStep2)
    deliver(provider, stream.snapshot)
  }
  let frames = 0
  for (const tick of stream.ticks) frames += tick.frames.length
  global.gc && global.gc()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  for (const tick of stream.ticks) {
    for (const frame of tick.frames) {
      for (const provider of providers) deliver(provider, frame)
    }
  }
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const texts = new Set(providers.map((p) => p.doc.getText('bench').toString()))
  const cpuMs = (cpu.user + cpu.system) / 1000
  emit('result', {
    clients: clientCount,
    writers: writerCount,
    tickMs,
    renewalMs,
    keystrokes: stream.keystrokes,
    streamSeconds: durationMs / 1000,
    framesPerClientPerSecond: frames / (durationMs / 1000),
    cpuMs,
    wallMs: wall,
    // One core's share needed to keep up with the stream, per client.
    corePerClient: cpuMs / durationMs / clientCount,
    converged: texts.size === 1
  })
  for (const provider of providers) provider.destroy()
  process.exit(0)
}

main().catch((error) => {
  emit('error', { message: String(error.stack || error) })
  process.exit(1)
})
