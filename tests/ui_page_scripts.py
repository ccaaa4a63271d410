"""Scripts the browser test runs in the page: a recorder of what appears, and layout and colour measurements."""

# Records, in the page, every stage label shown and when watched selectors first appear (reset per question).
RECORDER = """
window.__rag = {stages: new Set(), seen: {}, watch: {}};
window.__ragReset = (watch) => { window.__rag = {stages: new Set(), seen: {}, watch: watch || {}}; };
new MutationObserver(() => {
  const r = window.__rag;
  document.querySelectorAll('#chat .rag-step').forEach(s => r.stages.add(s.textContent.replace(/[\\d.]+ s$/, '').trim()));
  for (const [name, selector] of Object.entries(r.watch))
    if (!(name in r.seen) && document.querySelector(selector)) r.seen[name] = performance.now();
}).observe(document, {subtree: true, childList: true, characterData: true});
"""

# Layout and colour measurements, run in the page.
MEASURE = """() => {
  const lum = (c) => { const [r, g, b] = c.match(/[\\d.]+/g).map(Number).slice(0, 3).map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = (el) => { for (let e = el; e; e = e.parentElement) { const bg = getComputedStyle(e).backgroundColor;
    if (bg && !bg.startsWith('rgba(0, 0, 0, 0)') && bg !== 'transparent') return bg; } return 'rgb(255, 255, 255)'; };
  const contrast = (sel) => { const el = document.querySelector(sel); if (!el) return null;
    const a = lum(getComputedStyle(el).color), b = lum(background(el));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); };
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 &&
    getComputedStyle(el).visibility !== 'hidden'; };
  const controls = [...document.querySelectorAll('#question textarea, #ask, #stop, #new, #export, #receipt, #chat button')]
    .filter(visible);
  const overlaps = [];
  for (let i = 0; i < controls.length; i++) for (let j = i + 1; j < controls.length; j++) {
    const [a, b] = [controls[i], controls[j]];
    if (a.contains(b) || b.contains(a)) continue;
    const p = a.getBoundingClientRect(), q = b.getBoundingClientRect();
    const w = Math.min(p.right, q.right) - Math.max(p.left, q.left), h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
    if (w > 1 && h > 1) overlaps.push([a.id || a.className || a.tagName, b.id || b.className || b.tagName]);
  }
  const ta = document.querySelector('#question textarea'), st = getComputedStyle(ta);
  const ctx = document.createElement('canvas').getContext('2d'); ctx.font = `${st.fontSize} ${st.fontFamily}`;
  const room = ta.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight);
  const cite = document.querySelector('#chat a.rag-cite'), cs = cite && getComputedStyle(cite);
  return {
    dark: document.body.classList.contains('dark'),
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    overlaps, placeholderFits: ctx.measureText(ta.placeholder).width <= room, inputWidth: ta.clientWidth,
    cardBackground: lum(background(document.querySelector('.rag-card-passage, .rag-passage'))),
    citeLooksLikeLink: !!cs && cs.textDecorationLine.includes('underline') && cs.cursor === 'pointer' &&
      cs.color !== getComputedStyle(cite.parentElement).color,
    contrast: Object.fromEntries(['mark.quote-verified', '.rag-supported', '.rag-removed', '.rag-card-title',
      '.rag-card-meta', '#chat a.rag-cite', '.rag-relevance', '.rag-footer', '.rag-passage']
      .map(s => [s, contrast('#chat ' + s) ?? contrast('#sources ' + s)])),
  };
}"""
