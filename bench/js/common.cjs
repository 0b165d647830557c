'use strict'
// Shared helpers of the benchmark's Node processes (load generator, trace players).
//
// Every process talks to the Python orchestrator (bench/sync_bench.py) with one JSON
// object per line on stdout (events) and one command per line on stdin. Times are wall
// clock milliseconds with sub-millisecond precision, comparable between processes.

const readline = require('readline')
const encoding = require('lib0/encoding')
const Y = require('yjs')
const WS = require('ws')
const { WebsocketProvider } = require('y-websocket')

// Every provider adds a process 'exit' listener: hundreds per process are expected here.
process.setMaxListeners(0)

const now = () => performance.timeOrigin + performance.now()

const emit = (event, fields = {}) => {
  process.stdout.write(JSON.stringify({ event, t: now(), ...fields }) + '\n')
}

/** Call `handlers[command](argument)` for every line "command argument" read on stdin. */
const onCommands = (handlers) => {
  const lines = readline.createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    const space = line.indexOf(' ')
    const command = space < 0 ? line.trim() : line.slice(0, space)
    const argument = space < 0 ? '' : line.slice(space + 1)
    const handler = handlers[command]
    if (handler === undefined) {
      emit('error', { message: `unknown command ${command}` })
      return
    }
    Promise.resolve(handler(argument)).catch((error) => {
      emit('error', { message: String(error && error.stack ? error.stack : error) })
    })
  })
  lines.on('close', () => process.exit(0))
}

/** A real y-websocket client, as a browser would open it (no BroadcastChannel in Node). */
const openProvider = (url, room, doc, awarenessState) => {
  const provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WS,
    disableBc: true,
    connect: false
  })
  if (awarenessState !== undefined) provider.awareness.setLocalState(awarenessState)
  provider.closeCodes = {}
  provider.on('connection-close', (event) => {
    const code = event && event.code !== undefined ? String(event.code) : 'none'
    provider.closeCodes[code] = (provider.closeCodes[code] || 0) + 1
  })
  provider.connect()
  return provider
}

/** Resolves when the provider has its first sync, or after `timeoutMs` (false then). */
const whenSynced = (provider, timeoutMs) =>
  new Promise((resolve) => {
    if (provider.synced) {
      resolve(true)
      return
    }
    const timer = setTimeout(() => resolve(false), timeoutMs)
    const listener = (synced) => {
      if (!synced) return
      clearTimeout(timer)
      provider.off('sync', listener)
      resolve(true)
    }
    provider.on('sync', listener)
  })

/** A growable Float64Array, for logs that may hold millions of numbers. */
class F64Log {
  constructor (capacity = 4096) {
    this.data = new Float64Array(capacity)
    this.length = 0
  }

  push (...values) {
    if (this.length + values.length > this.data.length) {
      const bigger = new Float64Array(Math.max(this.data.length * 2, this.length + values.length))
      bigger.set(this.data.subarray(0, this.length))
      this.data = bigger
    }
    for (const value of values) this.data[this.length++] = value
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** What the writers type, in turn. */
const LETTERS = 'abcdefghijklmnopqrstuvwxyz '

/** Client `number`'s awareness state, like a browser's: name, colour, clause. */
const awarenessOf = (number) => ({
  user: { name: `Delegate ${number}`, color: `hsl(${(number * 47) % 360}, 70%, 45%)` },
  clause: `art-${(number % 29) + 1}`
})

/** The bytes that `write` puts into a fresh lib0 encoder. */
const encoded = (write) => {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}

module.exports = {
  Y, WS, now, emit, onCommands, openProvider, whenSynced, F64Log, sleep, LETTERS, awarenessOf, encoded
}
