"""Look and behaviour of the web UI in the browser: CSS for light and dark themes and small scripts. No gradio here.

Colours come from CSS variables set for the light theme on :root and for the dark one on .dark (gradio puts
that class on <body>), so highlights, badges and borders stay readable in both.
"""

CSS = """
:root {
  --rag-mark-bg: #fff0a0; --rag-mark-fg: #1f2328; --rag-mark-line: #b88700;
  --rag-ok-fg: #116329; --rag-ok-bg: #dafbe1; --rag-bad-fg: #a40e26; --rag-bad-bg: #ffebe9;
  --rag-muted: #59636e; --rag-border: #d1d9e0; --rag-card-bg: #ffffff; --rag-head-bg: #f6f8fa;
  --rag-link: #0550ae; --rag-flash: #bf8700; --rag-warn-bg: #fff8c5; --rag-warn-fg: #6f4e00;
}
.dark {
  --rag-mark-bg: #5a4500; --rag-mark-fg: #fff6d5; --rag-mark-line: #e3b341;
  --rag-ok-fg: #7ee2a8; --rag-ok-bg: #0f2d1c; --rag-bad-fg: #ffa198; --rag-bad-bg: #3d1417;
  --rag-muted: #9ea7b3; --rag-border: #3d444d; --rag-card-bg: #151b23; --rag-head-bg: #1e2630;
  --rag-link: #79c0ff; --rag-flash: #e3b341; --rag-warn-bg: #3b2e00; --rag-warn-fg: #f2cc60;
}
.rag-sources { font-size: 0.92em; color: var(--body-text-color); }
.rag-sources .turn-title { font-weight: 600; margin: 0.2em 0 0.4em; overflow-wrap: anywhere; }
.rag-note { color: var(--rag-muted); font-size: 0.86em; }
.rag-card { border: 1px solid var(--rag-border); border-radius: 10px; margin: 0.6em 0; background: var(--rag-card-bg);
  overflow: hidden; transition: box-shadow 0.3s; }
.rag-card.flash { box-shadow: 0 0 0 3px var(--rag-flash); }
.rag-card-head { display: flex; gap: 0.6em; align-items: flex-start; padding: 0.55em 0.75em;
  background: var(--rag-head-bg); border-bottom: 1px solid var(--rag-border); }
a.rag-n { flex: none; display: inline-flex; align-items: center; justify-content: center; min-width: 1.7em;
  height: 1.7em; border-radius: 999px; background: var(--rag-link); color: var(--rag-card-bg) !important;
  font-weight: 700; font-size: 0.85em; text-decoration: none !important; }
.rag-card-titles { flex: 1; min-width: 0; }
.rag-card-title { font-weight: 600; line-height: 1.3; overflow-wrap: anywhere; color: var(--body-text-color); }
.rag-card-meta { color: var(--rag-muted); font-size: 0.86em; margin-top: 0.15em; overflow-wrap: anywhere; }
.rag-outlet { font-weight: 600; }
.rag-file { font-family: ui-monospace, monospace; font-size: 0.92em; opacity: 0.85; }
.rag-relevance { flex: none; font-size: 0.8em; padding: 0.1em 0.5em; border: 1px solid var(--rag-border);
  border-radius: 999px; color: var(--rag-muted); cursor: help; white-space: nowrap; }
.rag-passage { white-space: pre-line; line-height: 1.5; padding: 0.55em 0.75em; overflow-wrap: anywhere; }
mark.quote-verified { background: var(--rag-mark-bg); color: var(--rag-mark-fg);
  border-bottom: 2px solid var(--rag-mark-line); padding: 0 1px; border-radius: 2px; }
.rag-card-foot { display: flex; flex-wrap: wrap; gap: 0.5em; align-items: center; padding: 0 0.75em 0.6em; }
button.rag-open { font: inherit; font-size: 0.85em; padding: 0.25em 0.7em; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--rag-border); background: var(--rag-head-bg); color: var(--rag-link); }
button.rag-open:hover { border-color: var(--rag-link); }
.quote-unverified { border: 1px dashed var(--rag-bad-fg); background: var(--rag-bad-bg); color: var(--rag-bad-fg);
  padding: 0.3em 0.5em; margin: 0 0.75em 0.5em; border-radius: 4px; }
.quote-elsewhere { border-left: 3px solid var(--rag-mark-line); padding-left: 0.5em; margin: 0 0.75em 0.5em; }
.rag-uncited > summary, .rag-sources details > summary { cursor: pointer; color: var(--rag-muted); margin: 0.4em 0; }
a.rag-cite { color: var(--rag-link) !important; text-decoration: underline dotted 1px !important;
  text-underline-offset: 2px; font-weight: 600; cursor: pointer; white-space: nowrap; }
a.rag-cite:hover { text-decoration-style: solid !important; }
.rag-cite-unverified { color: var(--rag-bad-fg) !important; text-decoration: line-through !important; }
.rag-cite-missing { color: var(--rag-bad-fg); }
.rag-msg { line-height: 1.55; }
.rag-claim-removed del { color: var(--rag-muted); text-decoration-thickness: 1px; }
.rag-verdict { display: inline-block; font-size: 0.74em; font-weight: 600; line-height: 1.35; padding: 0 0.5em;
  border-radius: 999px; vertical-align: 0.12em; cursor: help; white-space: normal; }
.rag-supported { background: var(--rag-ok-bg); color: var(--rag-ok-fg); }
.rag-removed { background: var(--rag-bad-bg); color: var(--rag-bad-fg); }
.rag-disagree { border: 1px solid var(--rag-mark-line); background: var(--rag-warn-bg); color: var(--rag-warn-fg);
  border-radius: 8px; padding: 0.4em 0.7em; margin: 0.5em 0; }
.rag-disagree ul { margin: 0.2em 0 0 1.2em; padding: 0; }
.rag-timeline { margin: 0.3em 0 0.7em; }
.rag-tl-axis { position: relative; height: 2.6em; margin: 1.3em 0.9em 0.2em; border-bottom: 2px solid var(--rag-border); }
.rag-tl-dot { position: absolute; bottom: -0.8em; transform: translateX(-50%); width: 1.55em; height: 1.55em;
  border-radius: 999px; display: flex; align-items: center; justify-content: center; font-size: 0.75em;
  text-decoration: none !important; border: 2px solid var(--rag-link); }
.rag-tl-cited { background: var(--rag-link); color: var(--rag-card-bg) !important; font-weight: 600; z-index: 2; }
.rag-tl-retrieved { background: var(--rag-card-bg); color: var(--rag-link) !important; z-index: 1; }
.rag-tl-asof { position: absolute; top: -1.2em; bottom: -0.4em; border-left: 2px dashed var(--rag-flash); }
.rag-tl-asof span { position: absolute; top: -0.2em; left: 0.3em; white-space: nowrap; font-size: 0.75em;
  color: var(--rag-muted); }
.rag-tl-label-left span { left: auto; right: 0.3em; }
.rag-tl-ends { display: flex; justify-content: space-between; color: var(--rag-muted); font-size: 0.78em;
  margin: 0.6em 0.2em 0; }
.rag-warnings { border: 1px solid var(--rag-bad-fg); background: var(--rag-bad-bg); color: var(--rag-bad-fg);
  border-radius: 8px; padding: 0.4em 0.7em; margin: 0 0 0.5em; font-size: 0.9em; }
.rag-warning + .rag-warning { margin-top: 0.3em; }
.rag-flag { background: var(--rag-bad-bg); color: var(--rag-bad-fg); border-bottom: 1px solid var(--rag-border);
  padding: 0.35em 0.75em; font-size: 0.86em; font-weight: 600; cursor: help; overflow-wrap: anywhere; }
.rag-doc-head .rag-flag { border: 1px solid var(--rag-bad-fg); border-radius: 6px; margin-top: 0.4em; }
.rag-card.rag-flagged { border-color: var(--rag-bad-fg); }
a.rag-cite-flagged::after { content: "⚠"; color: var(--rag-bad-fg); padding-left: 1px; }
.rag-refusal { font-weight: 600; }
.rag-withdrawn summary { cursor: pointer; color: var(--rag-muted); }
.rag-footer { display: flex; flex-wrap: wrap; gap: 0.15em 0.45em; margin-top: 0.5em; font-size: 0.82em;
  color: var(--rag-muted); }
.rag-part { white-space: nowrap; }
.rag-part:not(:last-child)::after { content: "·"; padding-left: 0.45em; }
.rag-footer-note { margin-top: 0.5em; font-size: 0.82em; color: var(--rag-muted); }
.rag-progress { display: flex; flex-wrap: wrap; gap: 0.35em; align-items: center; font-size: 0.85em;
  margin-bottom: 0.4em; }
.rag-step { padding: 0.1em 0.55em; border-radius: 999px; border: 1px solid var(--rag-border); white-space: nowrap; }
.rag-past { color: var(--rag-muted); }
.rag-now { border-color: var(--rag-link); color: var(--rag-link); font-weight: 600;
  animation: rag-pulse 1.4s ease-in-out infinite; }
.rag-halted { color: var(--rag-bad-fg); border-color: var(--rag-bad-fg); }
.rag-next { color: var(--rag-muted); opacity: 0.6; border-style: dashed; }
.rag-elapsed { color: var(--rag-muted); margin-left: auto; white-space: nowrap; }
@keyframes rag-pulse { 50% { opacity: 0.55; } }
.rag-draft { white-space: pre-wrap; }
.rag-unchecked { color: var(--rag-muted); font-style: italic; }
.rag-error { color: var(--rag-bad-fg); }
#status { font-size: 0.9em; }
#chat .placeholder { padding: 0 1.2em; text-align: center; color: var(--rag-muted); }
#status .rag-loading { color: var(--rag-link); font-weight: 600; }
#ask-row { flex-wrap: nowrap !important; align-items: stretch; gap: 8px; }
#ask-row > * { min-width: 0 !important; }
#ask, #stop { flex: 0 0 auto !important; min-width: 76px !important; max-width: 110px; }
#chat-tools { flex-wrap: wrap; gap: 8px; }
#chat-tools > * { flex: 0 0 auto !important; min-width: 0 !important; width: auto !important; }
dialog.rag-dialog { width: min(880px, 96vw); max-height: 88vh; padding: 0; border: 1px solid var(--rag-border);
  border-radius: 12px; background: var(--rag-card-bg); color: var(--body-text-color); }
dialog.rag-dialog::backdrop { background: rgba(0, 0, 0, 0.45); }
.rag-dialog-bar { position: sticky; top: 0; display: flex; gap: 0.6em; align-items: flex-start; padding: 0.7em 1em;
  background: var(--rag-head-bg); border-bottom: 1px solid var(--rag-border); }
.rag-dialog-bar .rag-doc-head { flex: 1; min-width: 0; }
.rag-dialog-bar button { font: inherit; border: 1px solid var(--rag-border); background: var(--rag-card-bg);
  color: var(--body-text-color); border-radius: 6px; padding: 0.2em 0.7em; cursor: pointer; }
.rag-dialog-body { padding: 0.8em 1em; }
.rag-doc-text { white-space: pre-wrap; line-height: 1.55; overflow-wrap: anywhere; }
@media (max-width: 640px) {
  #title h2 { font-size: 1.15em; }
  #chat { height: 58vh !important; }
  .rag-card-head { flex-wrap: wrap; }
  .rag-relevance { order: 3; }
  .rag-progress .rag-next { display: none; }
}
"""

# Global behaviour: [n] links scroll to their card (opening collapsed sections) and flash it; "Open document"
# shows the whole document in a dialog scrolled to the quote (the sources panel fetches it, see SOURCES_JS).
HEAD = """<script>
document.addEventListener('click', (event) => {
  const link = event.target.closest('a.rag-cite, a.rag-n, a[href^="#src-"]');
  if (!link) return;
  const target = document.getElementById(link.getAttribute('href').slice(1));
  if (!target) return;
  event.preventDefault();
  for (let d = target.closest('details'); d; d = d.parentElement.closest('details')) d.open = true;
  target.scrollIntoView({behavior: 'smooth', block: 'center'});
  target.classList.add('flash');
  setTimeout(() => target.classList.remove('flash'), 1500);
}, true);
window.ragShowDocument = (markup) => {
  let dialog = document.getElementById('rag-doc-dialog');
  if (!dialog) {
    dialog = document.createElement('dialog');
    dialog.id = 'rag-doc-dialog';
    dialog.className = 'rag-dialog';
    dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close(); });
    (document.querySelector('.gradio-container') || document.body).appendChild(dialog);
  }
  dialog.innerHTML = '<div class="rag-dialog-bar"><div class="rag-doc-head-slot"></div>' +
    '<button type="button" class="rag-close" aria-label="Close">Close</button></div><div class="rag-dialog-body"></div>';
  const holder = document.createElement('div');
  holder.innerHTML = markup;
  const head = holder.querySelector('.rag-doc-head');
  if (head) dialog.querySelector('.rag-doc-head-slot').replaceWith(head);
  dialog.querySelector('.rag-dialog-body').append(...holder.childNodes);
  dialog.querySelector('.rag-close').addEventListener('click', () => dialog.close());
  if (!dialog.open) dialog.showModal();
  const mark = dialog.querySelector('#rag-doc-quote');
  if (mark) setTimeout(() => mark.scrollIntoView({block: 'center'}), 30);
};
</script>"""

# js_on_load of the sources panel: its "Open document" buttons ask the server for the document.
SOURCES_JS = """
element.addEventListener('click', async (event) => {
  const button = event.target.closest('button.rag-open');
  if (!button) return;
  event.preventDefault();
  button.disabled = true;
  try {
    const markup = await server.document_view(button.dataset.source, Number(button.dataset.start),
                                              Number(button.dataset.end));  // arrives as one list
    window.ragShowDocument(markup);
  } finally {
    button.disabled = false;
  }
});
"""
