"""A document's flags: what was found to steer the assistant, where, and how answers keep away from it.

A flag is a plain dict, stored in the document's metadata (so every store backend keeps it as it is):
    {"kind": why, "start": file offset or None, "end": ..., "line": 1-based line or None,
     "text": the flagged text as cleaned (what the model would have read), "score": the detector's score,
     "where": where hidden text hid (absent for visible text)}
A flag without a span is hidden text that never reached the indexed text (an HTML comment): the document is
flagged, and nothing of it needs removing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..types import Document, Passage
from .hidden import HiddenText, tag_character_texts
from .steering import KIND_REPLY, find_steering, is_steering

# Hidden text that never reached the indexed text (a comment, an attribute) flags its document when it steers,
# against a lower bar: hiding it from readers is itself a sign of intent. Hidden text that did reach it (white or
# zero-size text) is flagged whatever it says: the model would read what no reader can check.
HIDDEN_FACTOR = 0.5
REMOVED = "[removed: text addressed to the assistant]"
KIND_HIDDEN = "hidden from readers"
KIND_QUOTED = "quoted by an order to the assistant"
_QA_LINE = re.compile(r"^[ \t]*(?:q|a|question|answer|correct answer|the answer)[ \t]*[:\-–].*$",
                      re.IGNORECASE | re.MULTILINE)
_QUOTED = re.compile(r'["“«„]([^"“”«»„]{12,400}?)[.!?]?["”»“]')
_MIN_PARTIAL = 24  # characters of a flagged sentence cut by a passage edge that still count as it


def flag_document(doc: Document, hidden: Sequence[HiddenText] = ()) -> list[dict[str, Any]]:
    """Flags for a cleaned document: its steering sentences, and hidden text that steers (in its text or not)."""
    flags = {(f.start, f.end): _span_flag(doc, f.start, f.end, f.kind, f.score) for f in find_steering(doc.text)}
    for a, b in _quoted_by_orders(doc.text, list(flags)):
        flags.setdefault((a, b), _span_flag(doc, a, b, KIND_QUOTED, 1.0))
    if flags:  # a document that gives orders: its question-and-answer lines are the payload, not a news Q&A
        for m in _QA_LINE.finditer(doc.text):
            flags.setdefault(m.span(), _span_flag(doc, *m.span(), KIND_REPLY, 1.0))
    tag_runs = tag_character_texts(doc.text)
    for piece in [*hidden, *tag_runs]:
        score = is_steering(piece.text, factor=HIDDEN_FACTOR)
        if spans := _locate(doc.text, piece):
            for a, b in spans:
                flags[(a, b)] = {**_span_flag(doc, a, b, KIND_HIDDEN, score or 0.0), "where": piece.where}
        elif score is not None:
            flags[(piece.where, piece.text)] = {"kind": KIND_HIDDEN, "where": piece.where, "start": None,
                                                "end": None, "line": None, "text": piece.text[:2_000],
                                                "score": round(score, 3)}
    return sorted(flags.values(), key=lambda f: (f["start"] is None, f["start"] or 0))


def flag_line(source: str, flag: dict[str, Any]) -> str:
    """One line naming a flag: 'memo.txt line 2: addressed to the assistant: "SYSTEM NOTE TO ..."'."""
    where = f" line {flag['line']}" if flag.get("line") else ""
    hid = f" ({flag['where']})" if flag.get("where") else ""
    text = " ".join(str(flag.get("text") or "").split())
    return f'{source}{where}: {flag["kind"]}{hid}: "{text[:90]}{"..." if len(text) > 90 else ""}"'


def _span_flag(doc: Document, start: int, end: int, kind: str, score: float) -> dict[str, Any]:
    """The stored flag of cleaned-text span [start, end): file offsets, line, text."""
    a, b = doc.original_span(start, end)
    return {"kind": kind, "start": a, "end": b, "line": doc.original.count("\n", 0, a) + 1,
            "text": doc.text[start:end][:2_000], "score": round(float(score), 3)}


def _quoted_by_orders(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans elsewhere in the text of what flagged sentences quote ('quote the sentence "X"'): the sentence an
    order wants cited is part of the attack, however true it reads alone."""
    found = []
    for a, b in spans:
        for quoted in _QUOTED.findall(text[a:b]):
            if len(quoted.split()) >= 4:
                at = text.find(quoted)
                while at >= 0:
                    if not a <= at < b:
                        found.append((at, at + len(quoted)))
                    at = text.find(quoted, at + 1)
    return found


def _locate(text: str, piece: HiddenText) -> list[tuple[int, int]]:
    """Spans of the cleaned text holding a hidden piece (it survives extraction when hidden by style)."""
    if piece.where == "invisible tag characters":
        encoded = "".join(chr(ord(c) + 0xE0000) for c in piece.text)
        at = text.find(encoded)
        return [(at, at + len(encoded))] if at >= 0 else []
    wanted = " ".join(piece.text.split())
    at = text.find(wanted) if len(wanted) >= 12 else -1
    return [(at, at + len(wanted))] if at >= 0 else []


# ---------------------------------------------------------------- at answer time


def overlapping(flags: Iterable[dict[str, Any]], start: int, end: int) -> list[dict[str, Any]]:
    """The flags whose file span overlaps [start, end)."""
    return [f for f in flags if f.get("start") is not None and f["start"] < end and start < f["end"]]


def redact(text: str, flags: Iterable[dict[str, Any]]) -> str:
    """A passage's text without its flagged sentences, each replaced by a short note. A sentence cut by the
    passage's edge is removed by the part that lies inside (its start at the end, its end at the start)."""
    for flag in flags:
        flagged = flag.get("text") or ""
        if flag.get("start") is None or not flagged:
            continue
        if flagged in text:
            text = text.replace(flagged, REMOVED)
            continue
        text = _redact_edges(text, flagged)
    return text


def _redact_edges(text: str, flagged: str) -> str:
    """Remove the part of `flagged` that a passage edge cut: a head at the passage's end, a tail at its start."""
    for size in range(len(flagged) - 1, _MIN_PARTIAL - 1, -1):
        if text.endswith(flagged[:size]):
            return text[: len(text) - size] + REMOVED
        if text.startswith(flagged[-size:]):
            return REMOVED + text[size:]
    return text



def answer_warnings(passages: Sequence[Passage], cited: set[int]) -> list[str]:
    """One line per flagged source among the passages an answer was written from (numbered from 1): those it
    cites first, then those the model read without citing."""
    lines: dict[str, str] = {}
    for n, passage in sorted(enumerate(passages, start=1), key=lambda item: item[0] not in cited):
        if not passage.flags or passage.source in lines:
            continue
        what = describe(passage.flags)
        lines[passage.source] = (
            f"{passage.source} holds text written to steer the assistant ({what}); it was kept out of the evidence, "
            "but this answer cites that source: read it with care" if n in cited else
            f"{passage.source} was retrieved and holds text written to steer the assistant ({what}); that text was "
            "not shown to the model")
    return list(lines.values())


def describe(flags: Sequence[dict[str, Any]]) -> str:
    """'addressed to the assistant, line 2; hidden from readers (HTML comment)': each kind once, with its lines."""
    kinds: dict[str, list[str]] = {}
    for flag in flags:
        label = flag["kind"] + (f" ({flag['where']})" if flag.get("where") else "")
        kinds.setdefault(label, [])
        if flag.get("line"):
            kinds[label].append(str(flag["line"]))
    return "; ".join(f"{label}, line {', '.join(dict.fromkeys(lines))}" if lines else label
                     for label, lines in kinds.items())
