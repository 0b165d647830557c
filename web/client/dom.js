// A small element builder: h('button', {class: 'x', onclick: fn}, 'Label').

export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value)
    else if (value === true) el.setAttribute(key, '')
    else el.setAttribute(key, String(value))
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return el
}

/** A hue for a Party, the same on every screen. */
export function partyHue (party) {
  let n = 0
  for (const c of party || '') n = (n * 31 + c.charCodeAt(0)) % 360
  return n
}
