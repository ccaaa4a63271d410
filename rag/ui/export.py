"""A conversation as Markdown: each question, the answer with its verdicts, and every quote with its source. No gradio."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ..types import Answer, Citation, RefusalReason
from .cards import clean_title, file_label, flag_text, nice_date


def _md(text: str) -> str:
    """Text safe inside Markdown prose (no accidental emphasis, headings or HTML)."""
    return re.sub(r"([\\`*_<>#|])", r"\\\1", " ".join(text.split()))


def _quote_block(text: str) -> str:
    """A blockquote of verbatim text."""
    return "\n".join("> " + _md(line) for line in text.strip().splitlines() if line.strip())


def _source_line(citation: Citation, answer: Answer) -> str:
    """'[n] Title — Outlet, 13 Oct 2023 — file.txt, characters a–b' for a citation, then '*(⚠ flagged: …)*' when its
    passage holds text written to steer the assistant."""
    passage = answer.passages[citation.n - 1] if 0 < citation.n <= len(answer.passages) else None
    title = clean_title(passage.title if passage else "", citation.source)
    outlet = citation.outlet or (passage.outlet if passage else None)
    when = citation.date or (passage.date if passage else None)
    who = ", ".join(x for x in (outlet, nice_date(when)) if x)
    where = f"`{file_label(citation.source)}`, characters {citation.start}–{citation.end}"
    flagged = f" *(⚠ {_md(flag_text(passage.flags))})*" if passage and passage.flags else ""
    return f"**[{citation.n}]** {_md(title)}" + (f" — {_md(who)}" if who else "") + f" — {where}{flagged}"


def _claims(answer: Answer) -> list[str]:
    """One bullet per sentence the model wrote, with its verdict in words."""
    lines = []
    for check in answer.claims:
        if check.supported:
            verdict = "supported" if check.support is None else f"supported (judge {check.support:.2f})"
            cut = "".join(f" ~~{_md(clause)}~~ *(removed: not in its quote)*" for clause in check.trimmed)
            lines.append(f"- *{verdict}*: {_md(check.shown or check.sentence)}{cut}")
        else:
            verdict = f"removed: {check.reason or 'not supported by its quote'}"
            lines.append(f"- *{verdict}*: ~~{_md(check.sentence)}~~")
    return lines


def turn_markdown(answer: Answer, number: int) -> str:
    """One question and its answer, warnings about flagged sources, claims and quoted sources."""
    lines = [f"## {number}. {_md(answer.question)}", ""]
    if answer.refused:
        try:
            reason = RefusalReason(answer.refusal_reason).wording
        except ValueError:
            reason = "declined"
        lines += [f"{_md(answer.answer)} *({_md(reason)})*", ""]
    else:
        lines += [_md(answer.answer), ""]
    if answer.warnings:
        lines += ["**Warnings**", "", *(f"- ⚠ {_md(w)}" for w in answer.warnings), ""]
    if answer.claims:
        lines += ["**Claims checked**", "", *_claims(answer), ""]
    if answer.citations:
        lines += ["**Sources**", ""]
        for citation in sorted(answer.citations, key=lambda c: (c.n, c.start)):
            status = "" if citation.verified else " *(quote not found in the file)*"
            lines += [_source_line(citation, answer) + status, "", _quote_block(citation.quote), ""]
    facts = [f"model {answer.model}" if answer.model else "",
             f"as of {nice_date(answer.as_of)}" if answer.as_of else "",
             f"{answer.timings['total']:.1f} s" if "total" in answer.timings else ""]
    if any(facts):
        lines += ["*" + _md(" · ".join(f for f in facts if f)) + "*", ""]
    return "\n".join(lines)


def conversation_markdown(answers: Sequence[Answer], index: str = "") -> str:
    """The whole conversation as a Markdown document."""
    head = ["# Conversation with rag", "",
            f"*Exported {time.strftime('%Y-%m-%d %H:%M')}" + (f" from index `{index}`" if index else "") + ". "
            "Every quote below was found verbatim in its file at the characters given.*", ""]
    return "\n".join(head) + "\n".join(turn_markdown(a, i) for i, a in enumerate(answers, start=1))


def write_export(answers: Sequence[Answer], index: str = "") -> Path:
    """Write the conversation to a fresh temporary .md file and return its path."""
    folder = Path(tempfile.mkdtemp(prefix="rag-export-"))
    path = folder / f"rag-conversation-{time.strftime('%Y%m%d-%H%M%S')}.md"
    path.write_text(conversation_markdown(answers, index), encoding="utf-8")
    return path
