"""HTML for the chat: answers with [n] links and a verdict on each claim, progress while it runs (no gradio here).

The sources panel lives in cards.py; its main functions are re-exported here for callers of render.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from ..text import MARKER_GROUP
from ..types import Answer, Citation, ClaimCheck, DocumentRow, RefusalReason
from .cards import (Span, anchor_id, clean_title, disagreements_html, esc, file_label, flag_text, highlight,
                    nice_date, passage_card, plural, quote_spans, render_evidence, render_panel)
from .theme import CSS
from .timeline import timeline_html

__all__ = ["CSS", "DOCUMENT_HEADERS", "Span", "anchor_id", "claims_html", "document_rows", "format_answer",
           "highlight", "link_citations", "passage_card", "plural", "progress_html", "quote_spans", "render_evidence",
           "render_panel", "render_sources", "streaming_text", "warnings_html"]

STAGE_LABELS = {  # stage -> (while it runs, once it is over)
    "starting": ("Starting", "Started"),
    "queued": ("Waiting for another question to finish", "Waited"),
    "follow-up": ("Rewriting the follow-up", "Follow-up rewritten"),
    "loading": ("Loading the model", "Model loaded"),
    "searching": ("Searching", "Searched"),
    "evidence": ("Evidence found", "Evidence found"),
    "writing": ("Writing", "Written"),
    "checking": ("Checking claims", "Claims checked"),
    "done": ("Done", "Done"),
}
STEPS = ("searching", "evidence", "writing", "checking")


# ---------------------------------------------------------------- answer text


def link_citations(text: str, turn: int, verified: set[int], unverified: set[int] = frozenset(),
                   flagged: set[int] = frozenset()) -> str:
    """Escape answer text and turn [n] markers into links to the sources panel (unverified/missing look different;
    a source flagged as holding text written to steer the assistant is marked ⚠)."""

    def one(n: int) -> str:
        if n in verified and n in flagged:
            return (f'<a class="rag-cite rag-cite-flagged" href="#{anchor_id(turn, n)}" title="source {n}: the quote '
                    f'is shown highlighted in its passage; its document holds text written to steer the assistant, '
                    f'read it with care">[{n}]</a>')
        if n in verified:
            return (f'<a class="rag-cite" href="#{anchor_id(turn, n)}" title="source {n}: the quote is shown '
                    f'highlighted in its passage">[{n}]</a>')
        if n in unverified:
            return (f'<a class="rag-cite rag-cite-unverified" href="#{anchor_id(turn, n)}" '
                    f'title="quote not found in the source">[{n}]</a>')
        return f'<span class="rag-cite-missing" title="no such passage">[{n}]</span>'

    def replace(match: re.Match[str]) -> str:
        return "".join(one(int(x)) for x in re.split(r"\s*[,;]\s*", match.group(1)))

    return MARKER_GROUP.sub(replace, html.escape(text, quote=False))


def _verdict(check: ClaimCheck) -> str:
    """The badge after a claim: supported (by the judge) or removed with its reason, in words."""
    if not check.supported:
        reason = check.reason or "not supported by its quote"
        return f'<span class="rag-verdict rag-removed" title="removed from the answer">removed: {esc(reason)}</span>'
    if check.support is None:
        label, tip = "quoted", "Its quote was found verbatim in the file; no judge checked that it supports the claim."
    else:
        label = "supported"
        tip = (f"A judge read the quote and found it supports this sentence (probability {check.support:.2f}). "
               "The quote itself was found verbatim in the file.")
    if check.single_source:
        label, tip = label + " · one source", tip + " Only one independent source says this."
    return f'<span class="rag-verdict rag-supported" title="{esc(tip)}">{label}</span>'


def claims_html(claims: Sequence[ClaimCheck], turn: int, verified: set[int], unverified: set[int],
                flagged: set[int] = frozenset()) -> str:
    """Every sentence the model wrote, each followed by its verdict; removed sentences and clauses struck through."""
    parts = []
    for check in claims:
        if not check.supported:
            text = link_citations(check.sentence, turn, verified, unverified, flagged)
            parts.append(f'<span class="rag-claim rag-claim-removed"><del>{text}</del> {_verdict(check)}</span>')
            continue
        text = link_citations(check.shown or check.sentence, turn, verified, unverified, flagged)
        trimmed = check.trimmed
        cut = "".join(f' <del class="rag-trimmed">{esc(clause)}</del>' for clause in trimmed)
        if trimmed:
            cut += (' <span class="rag-verdict rag-removed" title="Cut from the sentence above: its quote does not '
                    f'say this.">{"clause" if len(trimmed) == 1 else "clauses"} removed: not in its quote</span>')
        parts.append(f'<span class="rag-claim">{text} {_verdict(check)}{cut}</span>')
    return " ".join(parts)


def render_sources(answer: Answer, turn: int = 1) -> str:
    """Sources of one answer: cited passages open, retrieved-but-uncited ones in a collapsed section."""
    by_n: dict[int, list[Citation]] = {}
    for c in answer.citations:
        by_n.setdefault(c.n, []).append(c)
    cited, uncited = [], []
    for n, passage in enumerate(answer.passages, start=1):
        card = passage_card(n, passage, by_n.get(n, []), turn)
        (cited if n in by_n else uncited).append(card)
    parts = [f'<div class="turn-title">Sources for “{esc(answer.question)}”</div>']
    if answer.standalone_question:
        parts.append(f'<div class="rag-note">searched for “{esc(answer.standalone_question)}”</div>')
    actions = (answer.time_scope or {}).get("actions") or []
    if actions:
        parts.append(f'<div class="rag-note">time words in the question: {esc("; ".join(actions))}</div>')
    parts.append(timeline_html(answer, turn))
    parts.append(disagreements_html(answer, turn))
    parts += cited or ['<div class="rag-note">No passage is cited in this answer.</div>']
    if uncited:
        label = plural(len(uncited), "more retrieved passage") + ", not cited"
        parts.append(f'<details class="rag-uncited"><summary>{label}</summary>{"".join(uncited)}</details>')
    return "".join(parts)



def format_answer(answer: Answer, turn: int) -> str:
    """The chat message for a finished answer: warnings about flagged sources, claims with verdicts, disagreements,
    a one-line status footer."""
    verified = {c.n for c in answer.citations if c.verified}
    unverified = {c.n for c in answer.citations if not c.verified} - verified
    flagged = {n for n, p in enumerate(answer.passages, start=1) if p.flags}
    if answer.refused:
        body = f'<div class="rag-refusal">{esc(answer.answer)}</div>'
        if answer.claims:
            body += ('<details class="rag-withdrawn"><summary>What the model wrote, and why it was withdrawn'
                     f"</summary>{claims_html(answer.claims, turn, set(), set())}</details>")
    elif answer.claims:
        body = f'<div class="rag-answer">{claims_html(answer.claims, turn, verified, unverified, flagged)}</div>'
    else:
        body = f'<div class="rag-answer">{link_citations(answer.answer, turn, verified, unverified, flagged)}</div>'
    body = warnings_html(answer.warnings) + body + disagreements_html(answer, turn)
    return f'<div class="rag-msg">{body}{_footer(answer, verified, unverified)}</div>'


def warnings_html(warnings: Sequence[str]) -> str:
    """One '⚠ ' line per warning (a source the answer was written from holds text written to steer the assistant)."""
    lines = "".join(f'<div class="rag-warning">⚠ {esc(w)}</div>' for w in warnings)
    return f'<div class="rag-warnings" role="note">{lines}</div>' if lines else ""


def _declined(reason: str | None) -> str:
    """Why an answer was declined, in the words every front end uses."""
    try:
        return RefusalReason(reason).wording
    except ValueError:
        return "declined: no passage answers this"


def _footer(answer: Answer, verified: set[int], unverified: set[int]) -> str:
    """Small status line under an answer: sources, verdicts, date, model and time; each part kept on one line."""
    parts = [_declined(answer.refusal_reason)] if answer.refused else _backing_parts(answer, verified, unverified)
    parts += _context_parts(answer)
    return '<div class="rag-footer">' + "".join(f'<span class="rag-part">{p}</span>' for p in parts) + "</div>"


def _backing_parts(answer: Answer, verified: set[int], unverified: set[int]) -> list[str]:
    """What backs an answer: sources cited, sentences supported or removed, unverified or dropped markers."""
    parts = [plural(len(verified), "source") + " cited"]
    supported = sum(1 for c in answer.claims if c.supported)
    if answer.claims:
        parts.append(plural(supported, "sentence") + " supported")
    if len(answer.claims) > supported:
        parts.append(f"{len(answer.claims) - supported} removed as unsupported")
    if unverified:
        parts.append(f"{len(unverified)} unverified: {', '.join(f'[{n}]' for n in sorted(unverified))}")
    if answer.dropped_citations:
        parts.append("dropped markers: " + ", ".join(f"[{n}]" for n in answer.dropped_citations))
    return parts


def _context_parts(answer: Answer) -> list[str]:
    """Where an answer comes from: as-of date, the condensed question, the model and the time taken."""
    parts = []
    if answer.as_of:
        newest = answer.newest_source
        parts.append(f"as of {esc(nice_date(answer.as_of))}" + (
            f" (newest source {esc(nice_date(newest))})" if newest and newest != answer.as_of else ""))
    if answer.standalone_question and answer.standalone_question.strip() != answer.question.strip():
        parts.append(f"searched for: “{esc(answer.standalone_question)}”")
    if answer.model:
        parts.append(esc(answer.model))
    if "total" in answer.timings:
        detail = ", ".join(f"{k} {v:.1f} s" for k, v in answer.timings.items() if k != "total")
        parts.append(f'<span title="{esc(detail)}">{answer.timings["total"]:.1f} s</span>')
    return parts


# ---------------------------------------------------------------- while a question runs


def progress_html(stages: Sequence[tuple[str, float]], elapsed: float, evidence: int | None = None,
                  state: str = "running") -> str:
    """The stage strip: finished steps with their times, the current one with its elapsed time, the rest to come.

    `stages` are (stage, seconds after the start when it began); `state` is running, stopping or stopped."""
    begun = dict(stages)
    ends = {name: (stages[i + 1][1] if i + 1 < len(stages) else None) for i, (name, _) in enumerate(stages)}
    shown = [s for s, _ in stages if s not in STEPS and s != "done"] + list(STEPS)
    steps = [] if stages else ['<span class="rag-step rag-now">Starting…</span>']
    steps += [_step_html(name, begun, ends, elapsed, evidence, state) for name in shown]
    note = {"stopping": "Stopping… · ", "stopped": "Stopped · "}.get(state, "")
    tail = f'<span class="rag-elapsed">{note}{elapsed:.1f} s in all</span>' if elapsed or note else ""
    return f'<div class="rag-progress" role="status">{"".join(steps)}{tail}</div>'


def _step_html(name: str, begun: dict[str, float], ends: dict[str, float | None], elapsed: float,
               evidence: int | None, state: str) -> str:
    """One step of the strip: to come, done (with its time or the passages found), or running now."""
    running, over = STAGE_LABELS[name]
    if name not in begun:
        return f'<span class="rag-step rag-next">{running}</span>'
    if name == "evidence":
        label = f"{plural(evidence, 'passage')} found" if evidence is not None else over
        return f'<span class="rag-step rag-past">{label}</span>'
    end = ends[name]
    if end is not None:
        return f'<span class="rag-step rag-past">{over} {end - begun[name]:.1f} s</span>'
    kind, dots = ("rag-now", "…") if state == "running" else ("rag-halted", "")
    took = elapsed - begun[name]
    return f'<span class="rag-step {kind}">{running}{dots}{f" {took:.1f} s" if took else ""}</span>'


def streaming_text(partial: str) -> str:
    """A reply still being generated: escaped text with a cursor, markers not linked yet."""
    return html.escape(partial, quote=False) + " ▌"


def running_message(progress: str, partial: str) -> str:
    """The chat bubble while an answer is being made: the stage strip, then the text so far."""
    text = f'<div class="rag-draft">{streaming_text(partial)}</div>' if partial else ""
    return f'<div class="rag-msg">{progress}{text}</div>'


def stopped_message(progress: str, partial: str) -> str:
    """The chat bubble after Stop: what was written so far, marked as unchecked."""
    text = (f'<div class="rag-draft rag-unchecked">{html.escape(partial, quote=False)}</div>' if partial else "")
    note = ('<div class="rag-footer-note">Stopped: generation was cancelled; this partial text was not checked and '
            "is not an answer.</div>")
    return f'<div class="rag-msg">{progress}{text}{note}</div>'


def error_message(line: str) -> str:
    """The chat bubble for a failure: one readable line."""
    return f'<div class="rag-msg rag-error">⚠️ {esc(line)}</div>'


# ---------------------------------------------------------------- documents tab


DOCUMENT_HEADERS = ["Title", "Outlet", "Date", "File", "Passages", "Flagged"]  # the File column is read by pick_row


def document_rows(documents: Sequence[DocumentRow]) -> list[list]:
    """Table rows for the documents tab: full title, outlet, date, file, passages, and '⚠ flagged: …' for a document
    holding text written to steer the assistant ('' otherwise)."""
    return [[clean_title(d.title, d.source), d.outlet or "", d.date or "", d.source, d.chunks,
             f"⚠ {flag_text(d.flags)}" if d.flags else ""] for d in documents]


def document_choices(documents: Sequence[DocumentRow]) -> list[tuple[str, str]]:
    """(label, source) pairs for choosing one document: 'Title — source', or the source when it has no title."""
    choices = []
    for d in documents:
        title = clean_title(d.title, d.source)
        choices.append((d.source if title == file_label(d.source) else f"{title} — {d.source}", d.source))
    return choices
