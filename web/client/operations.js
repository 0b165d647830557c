// Negotiation operations written into the Y.Doc exactly as drafting/ writes them
// (brackets.py, proposals.py, clauses.py, statuses.py): same keys, same values, one Yjs
// transaction per operation, so that one operation is one update for the server to judge.
// Everything is checked before anything is written: a Yjs transaction cannot roll back.
// Positions are Yjs positions (UTF-16 code units), never offsets computed in Python.
// Every insert names its attributes: Yjs then writes exactly those (an insert without
// attributes would copy the left neighbour's, brackets included).

import * as Y from 'yjs'
import { ALLOWED, BR, ROOT, field, outline, roots, spans } from './model.js'

export class OperationError extends Error {}

const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
/** schema.new_id: a prefix and 12 random hex digits. */
export const newId = (prefix) => prefix + hex(crypto.getRandomValues(new Uint8Array(6)))
/** schema.now: ISO 8601 UTC with milliseconds, "2026-11-22T20:06:13.253Z". */
export const now = () => new Date().toISOString()

// -- ordering.py ------------------------------------------------------------------------
const DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz'
export function keyBetween (before, after) {
  const low = before || ''
  let high = after ?? null
  if (high !== null && low >= high) throw new OperationError(`keys out of order: ${low} ≥ ${high}`)
  let result = ''
  for (let i = 0; ; i++) {
    const lo = i < low.length ? DIGITS.indexOf(low[i]) : 0
    const hi = high !== null && i < high.length ? DIGITS.indexOf(high[i]) : DIGITS.length
    if (hi - lo > 1) return result + DIGITS[Math.floor((lo + hi) / 2)]
    result += DIGITS[lo]
    if (hi > lo) high = null
  }
}

// -- helpers ------------------------------------------------------------------------------
const clauseOf = (doc, id) => {
  const rec = roots(doc).clauses.get(id)
  if (!rec) throw new OperationError(`no clause ${id} in this text`)
  return rec
}
const bracketOf = (doc, id) => {
  const rec = roots(doc).brackets.get(id)
  if (!rec) throw new OperationError(`no bracket ${id} in this text`)
  return rec
}
// Parties of the negotiation (GET /api/negotiations) count as registered too: a text
// seeded before its negotiation had Parties has an empty `parties` map.
const negotiationParties = new Set()
export const setNegotiationParties = (codes) => { for (const c of codes) negotiationParties.add(c) }
const requireParty = (doc, party) => {
  if (party && !roots(doc).parties.has(party) && !negotiationParties.has(party)) {
    throw new OperationError(`unknown Party ${party}`)
  }
}
const checkSpan = (words, start, end) => {
  if (!(start >= 0 && start <= end && end <= words.length)) {
    throw new OperationError(`span ${start}..${end} is outside the words (length ${words.length})`)
  }
}
const transact = (doc, fn) => {
  let result
  doc.transact(() => { result = fn() })
  return result
}
/** A Y.Map filled with `fields` (written in the same transaction as it is attached). */
const setRecord = (map, id, fields) => {
  const ymap = new Y.Map()
  map.set(id, ymap)
  for (const [k, v] of Object.entries(fields)) ymap.set(k, v)
  return ymap
}

/** Formatting attributes of the character at `pos` ({} past the end): clauses.attrs_at. */
function attrsAt (ytext, pos) {
  let offset = 0
  for (const op of ytext.toDelta()) {
    const len = typeof op.insert === 'string' ? op.insert.length : 1
    if (offset <= pos && pos < offset + len) return { ...(op.attributes || {}) }
    offset += len
  }
  return {}
}
/** clauses.shared_attrs: typed inside a bracket, words are in it; at its edge, outside. */
export function sharedAttrs (ytext, at) {
  const length = ytext.length
  const left = at > 0 ? attrsAt(ytext, at - 1) : {}
  const right = at < length ? attrsAt(ytext, at) : {}
  const out = {}
  for (const [k, v] of Object.entries(left)) if (right[k] === v && k !== 'note') out[k] = v
  return out
}

// -- clauses.py ---------------------------------------------------------------------------
export function insertWords (doc, clauseId, at, words, origin) {
  if (!words) return
  const ytext = clauseOf(doc, clauseId).get('words')
  checkSpan(ytext.toString(), at, at)
  doc.transact(() => ytext.insert(at, words, sharedAttrs(ytext, at)), origin)
}

function openBracketsIn (doc, clauseId) {
  const rec = clauseOf(doc, clauseId)
  const found = spans(doc, rec.get('words')).map((s) => s.id)
  const cb = field(rec, 'bracket')
  if (cb && roots(doc).brackets.get(cb) && field(bracketOf(doc, cb), 'state') === 'open') found.unshift(cb)
  return found
}

export function setStatus (doc, clauseId, status) {
  const rec = clauseOf(doc, clauseId)
  const current = field(rec, 'status')
  if (current === status) return
  if (!(ALLOWED[current] || []).includes(status)) {
    throw new OperationError(`clause is ${current} and cannot become ${status} (it may become: ${(ALLOWED[current] || []).join(', ')})`)
  }
  if (status === 'agreed' || status === 'agreed ad ref') {
    const open = openBracketsIn(doc, clauseId)
    if (open.length) throw new OperationError(`cannot be ${status}: ${open.length} bracket(s) still open`)
  }
  transact(doc, () => rec.set('status', status))
}

// -- brackets.py --------------------------------------------------------------------------
function createBracketRecord (doc, id, kind, clause, { parent = '', party = '', proposal = '', group = '' } = {}) {
  setRecord(roots(doc).brackets, id, {
    kind, clause, group, parent, party, proposal, state: 'open', created: now(), lifted: ''
  })
}
function markBracketed (doc, clauseId) {
  const rec = clauseOf(doc, clauseId)
  if (field(rec, 'status') === 'pending') rec.set('status', 'bracketed')
}
function enclosing (existing, start, end) {
  let parent = null
  for (const s of existing) {
    const disjoint = s.end <= start || end <= s.start
    const inside = s.start <= start && end <= s.end
    const around = start <= s.start && s.end <= end
    if (!(disjoint || inside || around)) {
      throw new OperationError('the words chosen cross the edge of a bracket: brackets must nest')
    }
    if (inside && !around && (parent === null || s.depth > parent.depth)) parent = s
  }
  return parent ? parent.id : ''
}

export function bracketSpan (doc, clauseId, start, end, { party = '', proposal = '', kind = 'bracket' } = {}) {
  requireParty(doc, party)
  const rec = clauseOf(doc, clauseId)
  const ytext = rec.get('words')
  checkSpan(ytext.toString(), start, end)
  if (start === end) throw new OperationError('select some words first')
  const existing = spans(doc, ytext)
  const parent = enclosing(existing, start, end)
  const id = newId('b')
  return transact(doc, () => {
    createBracketRecord(doc, id, kind, clauseId, { parent, party, proposal })
    ytext.format(start, end - start, { [BR + id]: true })
    markBracketed(doc, clauseId)
    for (const inner of existing) {
      if (start <= inner.start && inner.end <= end && inner.parent === parent) {
        bracketOf(doc, inner.id).set('parent', id)
      }
    }
    return id
  })
}

export function insertBracketed (doc, clauseId, at, words, { party = '', proposal = '', kind = 'bracket' } = {}) {
  if (!words) throw new OperationError('nothing to insert')
  requireParty(doc, party)
  const ytext = clauseOf(doc, clauseId).get('words')
  checkSpan(ytext.toString(), at, at)
  return transact(doc, () => {
    ytext.insert(at, words, sharedAttrs(ytext, at))
    return bracketSpan(doc, clauseId, at, at + words.length, { party, proposal, kind })
  })
}

export function addAlternative (doc, bracketId, words, { party = '', proposal = '' } = {}) {
  if (!words) throw new OperationError('an alternative needs words')
  requireParty(doc, party)
  const target = bracketOf(doc, bracketId)
  if (field(target, 'state') !== 'open') throw new OperationError('that bracket is already lifted')
  if (field(target, 'kind') !== 'bracket') throw new OperationError(`a ${field(target, 'kind')} takes no alternative`)
  const clauseId = field(target, 'clause')
  const ytext = clauseOf(doc, clauseId).get('words')
  const current = spans(doc, ytext)
  const group = field(target, 'group') || bracketId
  const members = current.filter((s) => s.group === group)
  if (!members.length) throw new OperationError('that bracket has no words left in the text')
  const last = members.reduce((a, b) => (b.end > a.end ? b : a))
  const around = current.filter((s) => s.start <= last.start && last.end <= s.end && s.depth < last.depth)
  const id = newId('b')
  return transact(doc, () => {
    const attrs = { [BR + id]: true }
    for (const s of around) attrs[BR + s.id] = true
    ytext.insert(last.end, words, attrs)
    if (field(target, 'group') !== group) target.set('group', group) // a lone bracket heads a group
    createBracketRecord(doc, id, 'bracket', clauseId, { parent: field(target, 'parent'), party, proposal, group })
    markBracketed(doc, clauseId)
    return id
  })
}

export function bracketClause (doc, clauseId, { party = '', proposal = '' } = {}) {
  requireParty(doc, party)
  const rec = clauseOf(doc, clauseId)
  const cb = field(rec, 'bracket')
  if (cb && roots(doc).brackets.get(cb) && field(bracketOf(doc, cb), 'state') === 'open') {
    throw new OperationError('the clause is already in brackets')
  }
  const id = newId('b')
  return transact(doc, () => {
    createBracketRecord(doc, id, 'clause', clauseId, { party, proposal })
    rec.set('bracket', id)
    markBracketed(doc, clauseId)
    return id
  })
}

function settle (doc, kept, dropped) {
  const stamp = now()
  for (const [ids, state, outcome] of [[kept, 'kept', 'accepted'], [dropped, 'dropped', 'rejected']]) {
    for (const id of ids) {
      const rec = bracketOf(doc, id)
      rec.set('state', state)
      rec.set('lifted', stamp)
      const pid = field(rec, 'proposal')
      const proposal = pid && roots(doc).proposals.get(pid)
      if (proposal && field(proposal, 'status') === 'tabled') {
        proposal.set('status', outcome)
        proposal.set('updated', stamp)
      }
    }
  }
}

/** Lift a bracket group: keep the words of `keep` (a member), drop the rest; null drops all. */
export function liftBracket (doc, bracketId, keep) {
  const target = bracketOf(doc, bracketId)
  if (field(target, 'state') !== 'open') throw new OperationError('that bracket is already lifted')
  const clauseId = field(target, 'clause')
  if (field(target, 'kind') === 'clause') {
    return transact(doc, () => {
      const rec = clauseOf(doc, clauseId)
      rec.set('bracket', '')
      if (keep !== bracketId) rec.set('status', 'deleted')
      settle(doc, keep === bracketId ? [bracketId] : [], keep === bracketId ? [] : [bracketId])
    })
  }
  const ytext = clauseOf(doc, clauseId).get('words')
  const current = spans(doc, ytext)
  const group = field(target, 'group') || bracketId
  const members = current.filter((s) => s.group === group)
  if (keep != null && !members.some((m) => m.id === keep)) throw new OperationError(`${keep} is not an alternative of ${bracketId}`)
  const kept = members.filter((m) => m.id === keep)
  const dropped = members.filter((m) => m.id !== keep)
  transact(doc, () => {
    for (const m of kept) ytext.format(m.start, m.end - m.start, { [BR + m.id]: null })
    for (const m of [...dropped].sort((a, b) => b.start - a.start)) ytext.delete(m.start, m.end - m.start)
    const swept = dropped.flatMap((m) => current.filter((s) => s.id !== m.id && m.start <= s.start && s.end <= m.end).map((s) => s.id))
    settle(doc, kept.map((m) => m.id), [...dropped.map((m) => m.id), ...swept])
  })
}

// -- proposals.py -------------------------------------------------------------------------
export const ADDED = 'added'
export const AROUND = 'around'

function newProposalId (doc, party) {
  if (!party) throw new OperationError('a proposal is tabled in the name of a Party: name one')
  requireParty(doc, party)
  return newId('p')
}
function record (doc, id, kind, party, clause, roles, { words = '', replaced = '' } = {}) {
  const stamp = now()
  const ymap = setRecord(roots(doc).proposals, id, {
    kind, party, clause, status: 'tabled', words, replaced, brackets: roles, target: {}, created: stamp, updated: stamp
  })
  ymap.set('supporters', new Y.Map())
  ymap.set('objectors', new Y.Map())
}
const wordsOf = (doc, clause, start, end) => {
  const words = clauseOf(doc, clause).get('words').toString()
  checkSpan(words, start, end)
  return words.slice(start, end)
}

export function proposeInsertion (doc, party, clause, at, words) {
  const id = newProposalId(doc, party)
  return transact(doc, () => {
    const b = insertBracketed(doc, clause, at, words, { party, proposal: id })
    record(doc, id, 'insert', party, clause, { [b]: ADDED }, { words })
    return id
  })
}

export function proposeDeletion (doc, party, clause, start, end) {
  const old = wordsOf(doc, clause, start, end)
  const id = newProposalId(doc, party)
  return transact(doc, () => {
    const b = bracketSpan(doc, clause, start, end, { party, proposal: id })
    record(doc, id, 'delete', party, clause, { [b]: AROUND }, { replaced: old })
    return id
  })
}

export function proposeReplacement (doc, party, clause, start, end, words) {
  if (!words) throw new OperationError('a replacement needs new words (to delete words, propose a deletion)')
  const old = wordsOf(doc, clause, start, end)
  const id = newProposalId(doc, party)
  const existing = spans(doc, clauseOf(doc, clause).get('words')).filter((s) => s.start === start && s.end === end)
  return transact(doc, () => {
    const roles = {}
    let around
    if (existing.length) around = existing[existing.length - 1].id
    else {
      around = bracketSpan(doc, clause, start, end, { party, proposal: id })
      roles[around] = AROUND
    }
    const added = addAlternative(doc, around, words, { party, proposal: id })
    roles[added] = ADDED
    record(doc, id, 'replace', party, clause, roles, { words, replaced: old })
    return id
  })
}

export function proposeAlternative (doc, party, bracketId, words) {
  const clause = field(bracketOf(doc, bracketId), 'clause')
  const id = newProposalId(doc, party)
  return transact(doc, () => {
    const added = addAlternative(doc, bracketId, words, { party, proposal: id })
    record(doc, id, 'alternative', party, clause, { [added]: ADDED }, { words })
    return id
  })
}

/** A new clause ("5 bis") after `after`, bracketed as a whole, in the Party's name. */
export function proposeNewParagraph (doc, party, words, { parent = ROOT, after = null, kind = 'paragraph' } = {}) {
  const id = newProposalId(doc, party)
  const tree = outline(doc)
  const siblings = tree.children(parent)
  let order
  const key = (cid) => field(tree.records.get(cid), 'order')
  if (after === null) order = keyBetween(siblings.length ? key(siblings[siblings.length - 1]) : null, null)
  else {
    const i = siblings.indexOf(after)
    if (i < 0) throw new OperationError('that clause is not a sibling here')
    const later = siblings.slice(i + 1).map(key).filter((k) => k > key(after))
    order = keyBetween(key(after), later.length ? later[0] : null)
  }
  const clauseId = newId('c')
  return transact(doc, () => {
    const ymap = setRecord(roots(doc).clauses, clauseId, {
      kind, parent, order, base: false, number: '', status: 'pending', bracket: '', chosen: '', party, created: now()
    })
    const ytext = new Y.Text()
    ymap.set('words', ytext)
    if (words) ytext.insert(0, words)
    const b = bracketClause(doc, clauseId, { party, proposal: id })
    record(doc, id, 'new paragraph', party, clauseId, { [b]: ADDED }, { words })
    return id
  })
}

function tabled (doc, proposalId) {
  const p = roots(doc).proposals.get(proposalId)
  if (!p) throw new OperationError(`no proposal ${proposalId}`)
  if (field(p, 'status') !== 'tabled') throw new OperationError(`the proposal is ${field(p, 'status')}, no longer tabled`)
  return p
}

function takeSide (doc, proposalId, party, supports) {
  requireParty(doc, party)
  if (!party) throw new OperationError('support and objections are given by a Party')
  const p = tabled(doc, proposalId)
  if (party === field(p, 'party')) throw new OperationError(`${party} tabled this proposal`)
  const side = p.get(supports ? 'supporters' : 'objectors')
  const other = p.get(supports ? 'objectors' : 'supporters')
  transact(doc, () => {
    if (other.has(party)) other.delete(party)
    if (!side.has(party)) side.set(party, now())
  })
}
export const support = (doc, id, party) => takeSide(doc, id, party, true)
export const objectTo = (doc, id, party) => takeSide(doc, id, party, false)

function removeOneBracket (doc, bracketId, keepWords) {
  const rec = bracketOf(doc, bracketId)
  if (field(rec, 'kind') === 'clause') return liftBracket(doc, bracketId, keepWords ? bracketId : null)
  const ytext = clauseOf(doc, field(rec, 'clause')).get('words')
  const span = spans(doc, ytext).find((s) => s.id === bracketId)
  rec.set('state', keepWords ? 'kept' : 'dropped')
  rec.set('lifted', now())
  if (!span) return
  if (keepWords) ytext.format(span.start, span.end - span.start, { [BR + bracketId]: null })
  else ytext.delete(span.start, span.end - span.start)
}

export function withdraw (doc, proposalId, party) {
  const p = tabled(doc, proposalId)
  if (party !== field(p, 'party')) throw new OperationError(`only ${field(p, 'party')} can withdraw this proposal`)
  transact(doc, () => {
    p.set('status', 'withdrawn')
    p.set('updated', now())
    for (const [b, role] of Object.entries(field(p, 'brackets', {}))) {
      const br = roots(doc).brackets.get(b)
      if (br && field(br, 'state') === 'open') removeOneBracket(doc, b, role === AROUND)
    }
  })
}

// -- proposals.py: the chair's decisions -------------------------------------------------------
const bracketIsOpen = (doc, id) => {
  const rec = roots(doc).brackets.get(id)
  return !!rec && field(rec, 'state') === 'open'
}
const close = (p, status) => {
  p.set('status', status)
  p.set('updated', now())
}

/** The room agrees: the proposal's words stand, unbracketed (proposals.accept). */
export function acceptProposal (doc, proposalId) {
  const p = tabled(doc, proposalId)
  if (field(p, 'kind') === 'move') throw new OperationError('moving clauses is not offered in this page yet')
  const roles = field(p, 'brackets', {})
  const added = Object.keys(roles).filter((b) => roles[b] === ADDED)
  const around = Object.keys(roles).filter((b) => roles[b] === AROUND)
  for (const b of added) {
    const rec = roots(doc).brackets.get(b)
    if (!bracketIsOpen(doc, b) || field(rec, 'kind') === 'clause') continue
    const clauseWords = clauseOf(doc, field(rec, 'clause')).get('words')
    if (!spans(doc, clauseWords).some((s) => s.id === b)) {
      throw new OperationError('this proposal cannot be accepted: the words it proposed were deleted from the text')
    }
  }
  transact(doc, () => {
    for (const b of added) if (bracketIsOpen(doc, b)) liftBracket(doc, b, b)
    for (const b of around) if (bracketIsOpen(doc, b)) liftBracket(doc, b, null)
    close(p, 'accepted')
  })
}

/** The room does not agree: its new words leave the text, the words it bracketed stay. */
export function rejectProposal (doc, proposalId) {
  const p = tabled(doc, proposalId)
  transact(doc, () => {
    close(p, 'rejected')
    for (const [b, role] of Object.entries(field(p, 'brackets', {}))) {
      if (bracketIsOpen(doc, b)) removeOneBracket(doc, b, role === AROUND)
    }
  })
}

// -- options.py ---------------------------------------------------------------------------------
/** Resolve an option block: `option` stands, the other options leave the text. */
export function chooseOption (doc, block, option) {
  const rec = clauseOf(doc, block)
  if (field(rec, 'kind') !== 'options') throw new OperationError('that clause is not an option block')
  const options = outline(doc).children(block).filter((c) => field(roots(doc).clauses.get(c), 'kind') === 'option')
  if (!options.includes(option)) throw new OperationError('that clause is not an option of this block')
  transact(doc, () => rec.set('chosen', option))
}

// -- parties.py ---------------------------------------------------------------------------------
/**
 * Register the negotiation's Parties in the text's own registry (register_party), those
 * missing: the server checks a balloon's or a promoted proposal's Party against it.
 */
export function registerParties (doc, records) {
  const { parties } = roots(doc)
  const missing = records.filter((p) => p.code && !parties.has(p.code))
  if (!missing.length) return 0
  transact(doc, () => {
    for (const p of missing) {
      parties.set(p.code, { name: p.name || p.code, kind: p.kind === 'group' ? 'group' : 'state', members: [] })
    }
  })
  return missing.length
}
