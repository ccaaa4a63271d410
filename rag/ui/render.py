"""HTML for the web UI: answers with [n] links, the sources panel with highlighted quotes (no gradio here)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..text import MARKER_GROUP
from ..types import Answer, Citation, Passage, RefusalReason


CSS = """
.rag-sources { font-size: 0.92em; }
.rag-sources .turn-title { font-weight: 600; margin: 0.4em 0; }
.rag-card { border: 1px solid #d0d7de; border-radius: 8px; padding: 0.5em 0.75em; margin: 0.5em 0; }
.rag-card.flash { box-shadow: 0 0 0 3px #f2c94c; }
.rag-card-head { font-family: ui-monospace, monospace; font-size: 0.85em; color: #57606a; margin-bottom: 0.3em; }
.rag-card-head b { color: #1f2328; }
.rag-passage { white-space: pre-line; line-height: 1.45; }
mark.quote-verified { background: #fff3a3; border-bottom: 2px solid #d4a72c; padding: 0 1px; }
.quote-unverified { border: 1px dashed #cf222e; background: #fff5f5; color: #82071e; padding: 0.3em 0.5em;
  margin-top: 0.4em; border-radius: 4px; }
.quote-elsewhere { border-left: 3px solid #d4a72c; padding-left: 0.5em; margin-top: 0.4em; }
.rag-note { color: #57606a; font-size: 0.85em; }
a.rag-cite { text-decoration: none; font-weight: 600; }
.rag-cite-unverified { color: #cf222e; text-decoration: line-through dotted; }
.rag-cite-missing { color: #cf222e; }
"""


@dataclass(frozen=True)
class Span:
    """A highlighted region of a passage: [start, end) relative to the passage's original text."""

    start: int
    end: int
    n: int


# ---------------------------------------------------------------- answer text


def anchor_id(turn: int, n: int) -> str:
    """HTML id of passage n of a turn's sources."""
    return f"src-{turn}-{n}"


def link_citations(text: str, turn: int, verified: set[int], unverified: set[int] = frozenset()) -> str:
    """Escape answer text and turn [n] markers into links to the sources panel (unverified/missing look different)."""

    def one(n: int) -> str:
        if n in verified:
            return f'<a class="rag-cite" href="#{anchor_id(turn, n)}" title="verified quote from passage {n}">[{n}]</a>'
        if n in unverified:
            return (f'<a class="rag-cite rag-cite-unverified" href="#{anchor_id(turn, n)}" '
                    f'title="quote not found in the source">[{n}]</a>')
        return f'<span class="rag-cite-missing" title="no such passage">[{n}]</span>'

    def replace(match: re.Match[str]) -> str:
        return "".join(one(int(x)) for x in re.split(r"\s*[,;]\s*", match.group(1)))

    escaped = html.escape(text, quote=False)
    return MARKER_GROUP.sub(replace, escaped)


def format_answer(answer: Answer, turn: int) -> str:
    """The chat message for a finished answer: text with [n] links and a one-line status footer."""
    verified = {c.n for c in answer.citations if c.verified}
    unverified = {c.n for c in answer.citations if not c.verified} - verified
    body = link_citations(answer.answer, turn, verified, unverified)
    return body + "\n\n" + _footer(answer, verified, unverified)


def _declined(reason: str | None) -> str:
    """Why an answer was declined, in the words every front end uses."""
    try:
        return RefusalReason(reason).wording
    except ValueError:
        return "declined: no passage answers this"


def _footer(answer: Answer, verified: set[int], unverified: set[int]) -> str:
    """Small status line under an answer: what is backed, what is not, and timing."""
    parts = []
    if answer.refused:
        parts.append(_declined(answer.refusal_reason))
    else:
        parts.append(f"{len(verified)} verified source(s)")
        if unverified:
            parts.append(f"{len(unverified)} unverified: {', '.join(f'[{n}]' for n in sorted(unverified))}")
        if answer.dropped_citations:
            parts.append("dropped markers: " + ", ".join(f"[{n}]" for n in answer.dropped_citations))
    if answer.standalone_question and answer.standalone_question.strip() != answer.question.strip():
        parts.append(f"searched for: “{html.escape(answer.standalone_question, quote=False)}”")
    if answer.model:
        parts.append(html.escape(answer.model, quote=False))
    if "total" in answer.timings:
        parts.append(f"{answer.timings['total']:.1f} s")
    return '<span class="rag-note">' + " · ".join(parts) + "</span>"


# ---------------------------------------------------------------- highlighting


def quote_spans(passage: Passage, citations: Iterable[Citation]) -> list[Span]:
    """Verified citation spans that overlap the passage, clipped to it and made relative to passage.start."""
    length = passage.end - passage.start
    spans = []
    for c in citations:
        if not c.verified or c.source != passage.source:
            continue
        start, end = max(c.start - passage.start, 0), min(c.end - passage.start, length)
        if start < end:
            spans.append(Span(start, end, c.n))
    return sorted(spans, key=lambda s: (s.start, s.end))


def highlight(text: str, spans: Sequence[Span]) -> str:
    """HTML of `text` with each span wrapped in <mark>; everything escaped; overlapping spans are merged."""
    out, pos = [], 0
    for start, end, labels in _merge(spans, len(text)):
        out.append(_display(text[pos:start]))
        title = ", ".join(f"[{n}]" for n in labels)
        out.append(f'<mark class="quote-verified" title="verified quote {title}">{_display(text[start:end])}</mark>')
        pos = end
    out.append(_display(text[pos:]))
    return "".join(out)


def _merge(spans: Sequence[Span], limit: int) -> list[tuple[int, int, list[int]]]:
    """Clip spans to [0, limit) and merge overlapping ones, keeping their citation numbers."""
    merged: list[tuple[int, int, list[int]]] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        start, end = max(span.start, 0), min(span.end, limit)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), sorted(set(last[2]) | {span.n}))
        else:
            merged.append((start, end, [span.n]))
    return merged


def _display(text: str) -> str:
    """Escape text and tidy scraped whitespace for a pre-line block (blank-line runs become one paragraph break)."""
    text = re.sub(r"[ \t\f\v\r]*\n\s*\n\s*", "\n\n", text)
    return html.escape(text, quote=False)


# ---------------------------------------------------------------- sources panel


def passage_card(n: int, passage: Passage, citations: list[Citation], turn: int) -> str:
    """One passage: header (source, span, score), its original text with verified quotes highlighted."""
    original = passage.original
    text = original if original is not None else passage.text
    spans = quote_spans(passage, citations) if original is not None else []
    body = highlight(text, spans)
    outside = [c for c in citations if c.verified and original is not None and not quote_spans(passage, [c])]
    extras = [_outside_quote(c) for c in outside]
    extras += [_unverified_quote(c) for c in citations if not c.verified]
    if original is None:
        extras.append('<div class="rag-note">original text unavailable; showing the indexed passage</div>')
    return (f'<div class="rag-card" id="{anchor_id(turn, n)}">' + _card_head(n, passage) +
            f'<div class="rag-passage">{body}</div>' + "".join(extras) + "</div>")


def _card_head(n: int, passage: Passage) -> str:
    """Source file, character span, date and score; per-retriever scores in the tooltip."""
    scores = ", ".join(f"{k} {v:.3f}" for k, v in passage.scores.items())
    date = f" · {html.escape(passage.date)}" if passage.date else ""
    dups = f" · also in {html.escape(', '.join(passage.duplicates))}" if passage.duplicates else ""
    dense = f" · similarity {passage.scores['dense']:.2f}" if "dense" in passage.scores else ""
    return (f'<div class="rag-card-head" title="{html.escape(scores)}"><b>[{n}] {html.escape(passage.source)}</b>'
            f" · chars {passage.start}–{passage.end}{date} · score {passage.score:.3f}{dense}{dups}</div>")


def _unverified_quote(citation: Citation) -> str:
    """A quote the model gave that is not in the source, shown as such."""
    return (f'<div class="quote-unverified" title="not found verbatim in the document">⚠ [{citation.n}] unverified '
            f"quote (not found in the document): “{html.escape(citation.quote)}”</div>")


def _outside_quote(citation: Citation) -> str:
    """A verified quote located in the same source but outside this passage's span."""
    return (f'<div class="quote-elsewhere">[{citation.n}] verified at chars {citation.start}–{citation.end} of '
            f"{html.escape(citation.source)}: “{html.escape(citation.quote)}”</div>")


def render_sources(answer: Answer, turn: int = 1) -> str:
    """Sources of one answer: cited passages open, retrieved-but-uncited ones in a collapsed section."""
    by_n: dict[int, list[Citation]] = {}
    for c in answer.citations:
        by_n.setdefault(c.n, []).append(c)
    cited, uncited = [], []
    for n, passage in enumerate(answer.passages, start=1):
        card = passage_card(n, passage, by_n.get(n, []), turn)
        (cited if n in by_n else uncited).append(card)
    parts = [f'<div class="turn-title">Sources for “{html.escape(answer.question)}”</div>']
    if answer.standalone_question:
        parts.append(f'<div class="rag-note">searched for “{html.escape(answer.standalone_question)}”</div>')
    parts += cited or ['<div class="rag-note">No passage is cited in this answer.</div>']
    if uncited:
        parts.append(f"<details><summary>{len(uncited)} more retrieved passage(s), not cited</summary>"
                     + "".join(uncited) + "</details>")
    return "".join(parts)


def render_panel(turns: Sequence[str]) -> str:
    """The whole sources panel: the latest turn's sources open, earlier turns collapsed (newest first)."""
    if not turns:
        return '<div class="rag-sources rag-note">Ask a question: the passages behind the answer appear here.</div>'
    earlier = [f"<details><summary>Earlier question {i}</summary>{html_}</details>"
               for i, html_ in reversed(list(enumerate(turns[:-1], start=1)))]
    return '<div class="rag-sources">' + turns[-1] + "".join(earlier) + "</div>"


# ---------------------------------------------------------------- history and listings


def document_rows(documents: Sequence[dict]) -> list[list]:
    """Table rows for the documents tab: source, date, passages, characters, title."""
    return [[d["source"], d.get("date") or "", d.get("chunks", 0), d.get("chars", 0), (d.get("title") or "")[:80]]
            for d in documents]


def streaming_text(partial: str) -> str:
    """A reply still being generated: escaped text with a cursor, markers not linked yet."""
    return html.escape(partial, quote=False) + " ▌"
