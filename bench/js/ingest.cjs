'use strict'
// Ingest: a sequential editing trace as one Yjs update per transaction (keystroke).
//
//   node bench/js/ingest.cjs generate '{"trace": "x.json.gz", "out": DIR, "limit": N}'
//     replays the trace into a Y.Doc ("bench" text), one transaction per trace txn, and
//     writes DIR/updates.bin (u32 little-endian length + update, per transaction),
//     DIR/final.bin (the whole document as one update) and DIR/expected.txt.
//   node bench/js/ingest.cjs send '{"url": "ws://…", "room": "…", "file": "updates.bin",
//                                   "count": N}'
//     opens one WebSocket and sends the first N updates as y-websocket sync-update frames,
//     pipelined (no waiting for anything between frames); then stays connected until
//     `exit` arrives on stdin.

const fs = require('fs')
const path = require('path')
const zlib = require('zlib')
const { Y, WS, now, emit, onCommands } = require('./common.cjs')

const [mode, rawConfig] = process.argv.slice(2)
const config = JSON.parse(rawConfig)

const isAscii = (trace) => trace.txns.every((txn) => txn.patches.every(([, , s]) => /^[\x00-\x7f]*$/.test(s)))

/** UTF-16 offset of code point `position` in `s`. */
const utf16Offset = (s, position) => {
  let offset = 0
  for (let k = 0; k < position; k++) offset += s.codePointAt(offset) > 0xffff ? 2 : 1
  return offset
}

const generate = () => {
  const started = now()
  const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(config.trace)).toString('utf8'))
  const ascii = isAscii(trace)
  const limit = Math.min(config.limit || trace.txns.length, trace.txns.length)
  const doc = new Y.Doc()
  const text = doc.getText('bench')
  const updates = []
  doc.on('update', (update) => updates.push(update))
  for (let i = 0; i < limit; i++) {
    doc.transact(() => {
      for (const [position, deleted, inserted] of trace.txns[i].patches) {
        const content = ascii ? null : text.toString()
        const at = ascii ? position : utf16Offset(content, position)
        if (deleted > 0) {
          const end = ascii ? position + deleted : utf16Offset(content, position + deleted)
          text.delete(at, end - at)
        }
        if (inserted.length > 0) text.insert(at, inserted)
      }
    })
  }
  const lengths = Buffer.alloc(4 * updates.length)
  const parts = []
  updates.forEach((update, k) => {
    lengths.writeUInt32LE(update.length, 4 * k)
    parts.push(lengths.subarray(4 * k, 4 * k + 4), update)
  })
  fs.writeFileSync(path.join(config.out, 'updates.bin'), Buffer.concat(parts))
  fs.writeFileSync(path.join(config.out, 'final.bin'), Y.encodeStateAsUpdate(doc))
  const content = text.toString()
  fs.writeFileSync(path.join(config.out, 'expected.txt'), content)
  emit('generated', {
    count: updates.length,
    bytes: updates.reduce((sum, u) => sum + u.length, 0),
    finalBytes: Y.encodeStateAsUpdate(doc).length,
    matchesEndContent: limit === trace.txns.length ? content === trace.endContent : null,
    ms: now() - started
  })
}

const varuint = (n) => {
  const out = []
  while (n > 0x7f) {
    out.push(0x80 | (n & 0x7f))
    n = Math.floor(n / 128)
  }
  out.push(n)
  return out
}

/** y-websocket frames: sync (0), update (2), varbytes(update). */
const readFrames = (file) => {
  const data = fs.readFileSync(file)
  const frames = []
  for (let offset = 0; offset < data.length;) {
    const length = data.readUInt32LE(offset)
    const update = data.subarray(offset + 4, offset + 4 + length)
    frames.push(Buffer.concat([Buffer.from([0, 2, ...varuint(length)]), update]))
    offset += 4 + length
  }
  return frames
}

const send = () => {
  const frames = readFrames(config.file).slice(0, config.count || undefined)
  const socket = new WS(`${config.url}/${config.room}`, { perMessageDeflate: false })
  let received = 0
  socket.on('message', () => { received += 1 })
  socket.on('close', (code, reason) => emit('closed', { code, reason: String(reason), received }))
  socket.on('error', (error) => emit('error', { message: String(error) }))
  socket.on('open', () => {
    const t0 = now()
    emit('sending', { t0, frames: frames.length })
    for (const frame of frames) socket.send(frame)
    const queued = now()
    const waitFlushed = () => {
      if (socket.bufferedAmount > 0 && socket.readyState === WS.OPEN) {
        setTimeout(waitFlushed, 5)
        return
      }
      emit('flushed', { t0, queued, t1: now(), bufferedAmount: socket.bufferedAmount })
    }
    waitFlushed()
  })
  onCommands({
    exit: () => {
      socket.terminate()
      process.exit(0)
    }
  })
}

if (mode === 'generate') generate()
else if (mode === 'send') send()
else throw new Error(`unknown mode ${mode}`)
