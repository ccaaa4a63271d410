"""HTML of the sources panel: one card per passage (title, outlet, date, file, relevance, highlighted quote, a flag
when its document holds text written to steer the assistant). No gradio."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from ..types import Answer, Citation, DocumentRow, Passage

DOC_VIEW_LIMIT = 200_000  # characters of a document shown at once around the quote


@dataclass(frozen=True)
class Span:
    """A highlighted region of a passage: [start, end) relative to the passage's original text."""

    start: int
    end: int
    n: int


def esc(text: Any) -> str:
    """HTML-escape any value for text and attributes."""
    return html.escape(str(text), quote=True)


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 source', '2 sources' (irregular plural in `many`)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def anchor_id(turn: int, n: int) -> str:
    """HTML id of passage n of a turn's sources."""
    return f"src-{turn}-{n}"


# ---------------------------------------------------------------- what a card says about its document


def clean_title(title: str | None, source: str) -> str:
    """A document's title for display: Markdown '#' and extra spaces dropped; the file name when there is none."""
    text = " ".join(re.sub(r"^\s*#+\s*", "", title or "").split())
    return text or file_label(source)


def file_label(source: str) -> str:
    """The file name of a source path."""
    return PurePosixPath(source).name or source


def nice_date(value: str | None) -> str:
    """'2023-10-13' as '13 Oct 2023' (partial or odd dates as given)."""
    try:
        return date.fromisoformat(value or "").strftime("%-d %b %Y")
    except ValueError:
        return value or ""


def meta_line(outlet: str | None, when: str | None, source: str, span: tuple[int, int] | None = None) -> str:
    """'Outlet · 13 Oct 2023 · file.txt': what is known, the file name last and quieter."""
    where = f"chars {span[0]}–{span[1]} of " if span else ""
    parts = [f'<span class="rag-outlet">{esc(outlet)}</span>'] if outlet else []
    if when:
        parts.append(f'<time datetime="{esc(when)}">{esc(nice_date(when))}</time>')
    parts.append(f'<span class="rag-file" title="{esc(where + source)}">{esc(file_label(source))}</span>')
    return '<div class="rag-card-meta">' + '<span class="rag-sep"> · </span>'.join(parts) + "</div>"


def relevance(passage: Passage) -> str:
    """The one relevance figure of a card, with a tooltip saying what it is."""
    dense = passage.scores.get("dense")
    detail = ", ".join(f"{k} {v:.2f}" for k, v in passage.scores.items())
    if dense is not None:
        figure = f"match {dense:.2f}"
        tip = ("Match: how close this passage is in meaning to the question, the cosine similarity of their "
               "embeddings (1 = same meaning; above 0.5 is close). The ranking also weighs exact word matches.")
    else:
        figure, tip = f"match {passage.score:.2f}", "Match: the search score of this passage (higher is closer)."
    return f'<span class="rag-relevance" title="{esc(tip + (f" Scores: {detail}." if detail else ""))}">{figure}</span>'


def open_button(source: str, start: int, end: int) -> str:
    """The control that opens the whole document scrolled to [start, end)."""
    return (f'<button type="button" class="rag-open" data-source="{esc(source)}" data-start="{start}" '
            f'data-end="{end}" title="Show the whole document, scrolled to this quote">Open document</button>')


def flag_text(flags: Sequence[dict[str, Any]]) -> str:
    """'flagged: text written to steer the assistant — addressed to the assistant, line 2' ('' when unflagged)."""
    if not flags:
        return ""
    from ..guard.flags import describe

    return f"flagged: text written to steer the assistant — {describe(flags)}"


def flag_badge(flags: Sequence[dict[str, Any]]) -> str:
    """The visible badge of a passage or document holding text written to steer the assistant ('' when none)."""
    if not flags:
        return ""
    tip = ("Text in this document was written to steer the assistant. It was never shown to the model and is never "
           "quoted; what the document says may be slanted: read it with care.")
    return f'<div class="rag-flag" role="note" title="{esc(tip)}">⚠ {esc(flag_text(flags))}</div>'


def card_head(n: int, turn: int, title: str, meta: str, extra: str = "") -> str:
    """Number, title, outlet/date/file line and an optional right-hand figure."""
    return (f'<div class="rag-card-head"><a class="rag-n" href="#{anchor_id(turn, n)}">{n}</a>'
            f'<div class="rag-card-titles"><div class="rag-card-title">{esc(title)}</div>{meta}</div>{extra}</div>')


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


def highlight(text: str, spans: Sequence[Span], mark_id: str = "") -> str:
    """HTML of `text` with each span wrapped in <mark>; everything escaped; overlapping spans are merged."""
    out, pos = [], 0
    for i, (start, end, labels) in enumerate(_merge(spans, len(text))):
        out.append(_display(text[pos:start]))
        title = ", ".join(f"[{n}]" for n in labels)
        ident = f' id="{mark_id}"' if mark_id and i == 0 else ""
        out.append(f'<mark class="quote-verified"{ident} title="quote {title}, found verbatim in the file">'
                   f"{_display(text[start:end])}</mark>")
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


# ---------------------------------------------------------------- cards


def passage_card(n: int, passage: Passage, citations: list[Citation], turn: int) -> str:
    """One retrieved passage: its document, relevance, its original text with verified quotes highlighted."""
    original = passage.original
    text = original if original is not None else passage.text
    spans = quote_spans(passage, citations) if original is not None else []
    extras = _card_extras(passage, citations)
    first = next((c for c in citations if c.verified), None)
    at = (first.start, first.end) if first else (passage.start, passage.end)
    dups = passage.duplicates
    also = f'<span class="rag-note">also reported by {esc(", ".join(dups))}</span>' if dups else ""
    meta = meta_line(passage.outlet, passage.date, passage.source, (passage.start, passage.end))
    kind = (" rag-cited" if spans else "") + (" rag-flagged" if passage.flags else "")
    return (f'<article class="rag-card{kind}" id="{anchor_id(turn, n)}">'
            + card_head(n, turn, clean_title(passage.title, passage.source), meta, relevance(passage))
            + flag_badge(passage.flags) + f'<div class="rag-passage">{highlight(text, spans)}</div>' + "".join(extras)
            + f'<div class="rag-card-foot">{open_button(passage.source, *at)}{also}</div></article>')


def _card_extras(passage: Passage, citations: list[Citation]) -> list[str]:
    """Below a card's text: quotes found elsewhere in the file, unverified quotes, a missing-original note."""
    if passage.original is None:
        return [_unverified_quote(c) for c in citations if not c.verified] + [
            '<div class="rag-note">original text unavailable; showing the indexed passage</div>']
    outside = [c for c in citations if c.verified and not quote_spans(passage, [c])]
    return [_outside_quote(c) for c in outside] + [_unverified_quote(c) for c in citations if not c.verified]


def evidence_card(citation: Citation, turn: int, docs: Mapping[str, DocumentRow]) -> str:
    """A card shown right after retrieval: the passage's best-matching sentence, before the answer exists."""
    doc = docs.get(citation.source) or DocumentRow(id=-1, source=citation.source)
    title = clean_title(doc.title, citation.source)
    meta = meta_line(citation.outlet or doc.outlet, citation.date or doc.date, citation.source,
                     (citation.start, citation.end))
    return (f'<article class="rag-card rag-early{" rag-flagged" if doc.flags else ""}" '
            f'id="{anchor_id(turn, citation.n)}">' + card_head(citation.n, turn, title, meta) + flag_badge(doc.flags)
            + f'<div class="rag-passage"><mark class="quote-verified" title="found verbatim in the file">'
            f"{_display(citation.quote)}</mark></div>"
            + f'<div class="rag-card-foot">{open_button(citation.source, citation.start, citation.end)}'
            '<span class="rag-note">best-matching sentence of this passage</span></div></article>')


def _unverified_quote(citation: Citation) -> str:
    """A quote the model gave that is not in the source, shown as such."""
    return (f'<div class="quote-unverified" title="not found verbatim in the document">⚠ [{citation.n}] quote NOT '
            f"found in the document: “{esc(citation.quote)}”</div>")


def _outside_quote(citation: Citation) -> str:
    """A verified quote located in the same source but outside this passage's span."""
    return (f'<div class="quote-elsewhere">[{citation.n}] found at chars {citation.start}–{citation.end} of '
            f"{esc(citation.source)}: “{esc(citation.quote)}”</div>")


# ---------------------------------------------------------------- panels


def disagreements_html(answer: Answer, turn: int) -> str:
    """'Sources disagree' box: each value the sources give, with its quote and where it comes from ('' if none)."""
    items = []
    for d in answer.disagreements:
        values = []
        for v in d.values:
            c = v.citation
            who = ", ".join(x for x in (c.outlet, nice_date(c.date)) if x)
            also = f" (also {plural(len(v.also), 'other document')})" if v.also else ""
            values.append(f'<li><b>{esc(v.value)}</b> <a class="rag-cite" href="#{anchor_id(turn, c.n)}">[{c.n}]</a>'
                          f' {esc(who)}{also}: “{esc(c.quote)}”</li>')
        items.append(f"<div><b>Sources disagree on {esc(d.what)}:</b><ul>{''.join(values)}</ul></div>")
    return f'<div class="rag-disagree">{"".join(items)}</div>' if items else ""


def render_evidence(question: str, evidence: Sequence[Citation], turn: int, docs: Mapping[str, DocumentRow]) -> str:
    """Sources of a turn still being answered: the best sentence of each retrieved passage, as soon as found."""
    head = (f'<div class="turn-title">Evidence for “{esc(question)}”</div><div class="rag-note">Found before the '
            "answer is written: the best-matching sentence of each retrieved passage. The cited set follows.</div>")
    cards = [evidence_card(c, turn, docs) for c in evidence]
    return head + ("".join(cards) or '<div class="rag-note">No passage matches well enough.</div>')


def render_panel(turns: Sequence[str]) -> str:
    """The whole sources panel: the latest turn's sources open, earlier turns collapsed (newest first)."""
    if not turns:
        return ('<div class="rag-sources rag-empty rag-note">Ask a question: the passages behind the answer appear '
                "here, with the quotes highlighted.</div>")
    earlier = [f"<details><summary>Earlier question {i}</summary>{html_}</details>"
               for i, html_ in reversed(list(enumerate(turns[:-1], start=1)))]
    return '<div class="rag-sources">' + turns[-1] + "".join(earlier) + "</div>"


def document_view(found: tuple[DocumentRow, str] | None, start: int, end: int) -> str:
    """The whole document with [start, end) highlighted (id rag-doc-quote); a window around it when very long."""
    if not found:
        return '<div class="rag-note">This document is no longer in the index.</div>'
    doc, text = found
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    lo = max(0, start - DOC_VIEW_LIMIT // 2)
    hi = min(len(text), lo + DOC_VIEW_LIMIT)
    body = highlight(text[lo:hi], [Span(start - lo, end - lo, 0)] if end > start else [], mark_id="rag-doc-quote")
    cut = (f'<div class="rag-note">Showing characters {lo}–{hi} of {len(text)}.</div>'
           if (lo, hi) != (0, len(text)) else "")
    title = clean_title(doc.title, doc.source)
    meta = meta_line(doc.outlet, doc.date, doc.source)
    return (f'<div class="rag-doc-head"><div class="rag-card-title">{esc(title)}</div>{meta}{flag_badge(doc.flags)}'
            f'</div>{cut}<div class="rag-doc-text">{body}</div>')
