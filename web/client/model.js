// Reading a negotiation text's Y.Doc the way drafting/ reads it: the outline (outline.py),
// the numbers (numbering.py), the open brackets of a clause's words (brackets.spans) and
// the counts (statistics.py). Positions here are Yjs positions: UTF-16 code units.

export const BR = 'br:' // drafting/schema.py BRACKET_ATTR_PREFIX
export const ROOT = ''

export const STATUSES = ['pending', 'bracketed', 'agreed ad ref', 'agreed', 'parked', 'deleted']
// drafting/statuses.py ALLOWED
export const ALLOWED = {
  pending: ['bracketed', 'agreed ad ref', 'parked', 'deleted'],
  bracketed: ['pending', 'agreed ad ref', 'parked', 'deleted'],
  'agreed ad ref': ['agreed', 'bracketed', 'parked', 'deleted'],
  agreed: ['bracketed', 'agreed ad ref', 'deleted'],
  parked: ['pending', 'bracketed', 'deleted'],
  deleted: ['pending', 'bracketed']
}

export const roots = (doc) => ({
  meta: doc.getMap('meta'),
  parties: doc.getMap('parties'),
  clauses: doc.getMap('clauses'),
  brackets: doc.getMap('brackets'),
  proposals: doc.getMap('proposals')
})

const field = (ymap, key, fallback = '') => {
  const v = ymap.get(key)
  return v === undefined || v === null ? fallback : v
}

/** The clause tree: parent ids, children in (order, id) order; cycles broken as outline.py. */
export function outline (doc) {
  const { clauses } = roots(doc)
  const records = new Map()
  clauses.forEach((ymap, id) => records.set(id, ymap))
  const parentOf = new Map()
  for (const [id, ymap] of records) {
    const p = field(ymap, 'parent')
    parentOf.set(id, records.has(p) ? p : ROOT)
  }
  for (const start of [...parentOf.keys()].sort()) {
    const seen = []
    let node = start
    while (node !== ROOT && !seen.includes(node)) {
      seen.push(node)
      node = parentOf.get(node)
    }
    if (node !== ROOT) {
      const cycle = seen.slice(seen.indexOf(node))
      parentOf.set(cycle.sort()[0], ROOT)
    }
  }
  const children = new Map()
  const ids = [...parentOf.keys()].sort((a, b) => {
    const oa = field(records.get(a), 'order')
    const ob = field(records.get(b), 'order')
    return oa < ob ? -1 : oa > ob ? 1 : a < b ? -1 : a > b ? 1 : 0
  })
  for (const id of ids) {
    const p = parentOf.get(id)
    if (!children.has(p)) children.set(p, [])
    children.get(p).push(id)
  }
  const walk = (id = ROOT, depth = 0, out = []) => {
    for (const child of children.get(id) || []) {
      out.push({ id: child, depth })
      walk(child, depth + 1, out)
    }
    return out
  }
  const ancestors = (id) => {
    const chain = []
    let p = parentOf.get(id) ?? ROOT
    while (p !== ROOT) {
      chain.push(p)
      p = parentOf.get(p)
    }
    return chain
  }
  const isLive = (id) => {
    for (const cid of [id, ...ancestors(id)]) {
      const rec = records.get(cid)
      if (field(rec, 'status') === 'deleted') return false
      if (field(rec, 'kind') === 'option') {
        const block = records.get(parentOf.get(cid))
        const chosen = block ? field(block, 'chosen') : ''
        if (chosen && chosen !== cid) return false
      }
    }
    return true
  }
  return { records, parentOf, children: (id) => children.get(id) || [], walk, ancestors, isLive }
}

const LATIN = ['bis', 'ter', 'quater', 'quinquies', 'sexies', 'septies', 'octies', 'novies',
  'decies', 'undecies', 'duodecies', 'terdecies', 'quaterdecies', 'quindecies', 'sexdecies',
  'septdecies', 'octodecies', 'novodecies', 'vicies']
const latinSuffix = (n) => (n <= LATIN.length ? LATIN[n - 1] : `bis${n}`)
const letter = (n) => {
  let out = ''
  while (n > 0) {
    const r = (n - 1) % 26
    n = Math.floor((n - 1) / 26)
    out = String.fromCharCode(97 + r) + out
  }
  return out
}
const roman = (n) => {
  const table = [[1000, 'm'], [900, 'cm'], [500, 'd'], [400, 'cd'], [100, 'c'], [90, 'xc'],
    [50, 'l'], [40, 'xl'], [10, 'x'], [9, 'ix'], [5, 'v'], [4, 'iv'], [1, 'i']]
  let out = ''
  for (const [v, s] of table) while (n >= v) { out += s; n -= v }
  return out
}
const TEXT_WIDE = ['article', 'recital', 'operative']
const SOURCE_NUMBERED = ['section', 'annex', 'heading']

/** Numbers during negotiation (numbering.py, final=False): "5 bis", "(a)", "PP2". */
export function numbering (doc, tree) {
  const kind = field(roots(doc).meta, 'kind')
  const numbers = new Map()
  const style = (id, rec, n) => {
    const k = field(rec, 'kind')
    const resolutionLike = kind === 'resolution' || kind === 'joint-statement'
    if (k === 'recital' && resolutionLike) return `PP${n}`
    if (k === 'operative' && resolutionLike) return `OP${n}`
    if (k === 'subparagraph') {
      const nested = tree.ancestors(id).filter((a) => field(tree.records.get(a), 'kind') === 'subparagraph').length
      return nested % 2 ? roman(n) : letter(n)
    }
    return String(n)
  }
  const count = (parent, textWide) => {
    const local = {}
    for (const id of tree.children(parent)) {
      const rec = tree.records.get(id)
      const k = field(rec, 'kind')
      const counters = TEXT_WIDE.includes(k) ? textWide : local
      let number = ''
      if (SOURCE_NUMBERED.includes(k)) number = field(rec, 'number')
      else if (!['text', 'preamble', 'options', 'final-clauses'].includes(k)) {
        const c = counters[k] || (counters[k] = [0, 0])
        let suffix = ''
        if (field(rec, 'base', true)) { c[0] += 1; c[1] = 0 } else { c[1] += 1; suffix = ' ' + latinSuffix(c[1]) }
        number = style(id, rec, c[0]) + suffix
      }
      numbers.set(id, number)
      count(id, textWide)
    }
  }
  count(ROOT, {})
  const label = (id) => {
    const rec = tree.records.get(id)
    const k = field(rec, 'kind')
    const number = numbers.get(id) || ''
    if (k === 'article') return `Article ${number}`
    if (k === 'option') return `Option ${number}:`
    if (k === 'subparagraph') return `(${number})`
    if (SOURCE_NUMBERED.includes(k)) return number ? `${number}.` : ''
    return number && !/^[a-z]/i.test(number) ? `${number}.` : number
  }
  return { number: (id) => numbers.get(id) || '', label }
}

/** Chunks of a clause's words: [{text, attrs}] with UTF-16 start/end. */
export function chunks (ytext) {
  const out = []
  let pos = 0
  for (const op of ytext.toDelta()) {
    const text = typeof op.insert === 'string' ? op.insert : '\uFFFC'
    out.push({ text, attrs: op.attributes || {}, start: pos, end: pos + text.length })
    pos += text.length
  }
  return out
}

/** The open brackets of some words, outermost first in text order (brackets.spans_of). */
export function spans (doc, ytext) {
  const { brackets } = roots(doc)
  const extents = new Map()
  for (const c of chunks(ytext)) {
    for (const key of Object.keys(c.attrs)) {
      if (!key.startsWith(BR) || !c.attrs[key]) continue
      const id = key.slice(BR.length)
      const e = extents.get(id)
      if (e) e[1] = c.end
      else extents.set(id, [c.start, c.end])
    }
  }
  const records = new Map()
  for (const id of extents.keys()) {
    const r = brackets.get(id)
    if (r && field(r, 'state') === 'open') records.set(id, r)
  }
  const isAncestor = (a, b) => {
    const seen = new Set()
    let node = field(records.get(b), 'parent')
    while (node && !seen.has(node)) {
      if (node === a) return true
      seen.add(node)
      node = records.has(node) ? field(records.get(node), 'parent') : ''
    }
    return false
  }
  const outside = (a, b) => {
    const [sa, ea] = extents.get(a)
    const [sb, eb] = extents.get(b)
    if (!(sa <= sb && eb <= ea)) return false
    if (sa !== sb || ea !== eb) return true
    if (isAncestor(a, b)) return true
    return !isAncestor(b, a) && a < b
  }
  const ids = [...records.keys()]
  const found = ids.map((id) => {
    const r = records.get(id)
    return {
      id,
      kind: field(r, 'kind'),
      group: field(r, 'group') || id,
      parent: field(r, 'parent'),
      party: field(r, 'party'),
      proposal: field(r, 'proposal'),
      start: extents.get(id)[0],
      end: extents.get(id)[1],
      depth: ids.filter((a) => a !== id && outside(a, id)).length
    }
  })
  return found.sort((x, y) => x.start - y.start || x.depth - y.depth || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
}

/**
 * Where to draw bracket marks: for each position, the brackets opening there (outermost
 * first) and closing there (innermost first). Used by the read view and the editor.
 */
export function marks (spanList) {
  const opens = new Map()
  const closes = new Map()
  for (const s of spanList) {
    if (!opens.has(s.start)) opens.set(s.start, [])
    opens.get(s.start).push(s)
    if (!closes.has(s.end)) closes.set(s.end, [])
    closes.get(s.end).push(s)
  }
  for (const list of opens.values()) list.sort((a, b) => a.depth - b.depth)
  for (const list of closes.values()) list.sort((a, b) => b.depth - a.depth)
  return { opens, closes }
}

/** The headline counts of statistics.py: open brackets, alternatives, options … */
export function counts (doc) {
  const tree = outline(doc)
  const { brackets } = roots(doc)
  let open = 0; let placeholders = 0; let alternatives = 0; let options = 0
  const perStatus = {}
  let clauses = 0
  for (const [id, rec] of tree.records) {
    if (!tree.isLive(id)) continue
    clauses += 1
    const st = field(rec, 'status')
    perStatus[st] = (perStatus[st] || 0) + 1
    const words = rec.get('words')
    const current = words ? spans(doc, words) : []
    const groups = new Map()
    for (const s of current) {
      if (s.kind === 'placeholder') placeholders += 1
      else open += 1
      if (s.kind === 'bracket') groups.set(s.group, (groups.get(s.group) || 0) + 1)
    }
    for (const n of groups.values()) if (n > 1) alternatives += 1
    const cb = field(rec, 'bracket')
    if (cb && brackets.get(cb) && field(brackets.get(cb), 'state') === 'open') open += 1
    if (field(rec, 'kind') === 'options' && !field(rec, 'chosen')) {
      options += tree.children(id).filter((c) => field(tree.records.get(c), 'kind') === 'option').length
    }
  }
  return { clauses, brackets: open, alternatives, options, placeholders, perStatus }
}

export { field }
