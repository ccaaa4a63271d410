"""Grounding: attach to each claim of a parsed reply the verified quotes that back it, and spot invented numbers.

A claim with [n] gets the model's quotes verified in passage n, else the best sentence of passage n, or
of a clearly better passage (a numbering slip by the model). A claim without [n] gets a quote it holds
or a sentence similar enough. Claims nothing backs lose their markers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..text import MARKER, word_count, with_markers
from ..types import Citation, Passage
from .evidence import SUPPORT_MIN, Evidence, Scored
from .reply import ParsedReply

# ---------------------------------------------------------------- grounding

REASSIGN_MARGIN = 0.1  # another passage must support a claim this much better to take over its citation
_QUOTED = re.compile(r"[\"“]([^\"“”]{8,}?)[\"”]")


def ground(parsed: ParsedReply, evidence: Evidence, question: str = "") -> tuple[str, list[Citation]]:
    """Answer text and citations. A claim with [n]: the model's quotes verified in passage n, else the best sentence
    of passage n, or of a clearly better passage (whose number then replaces the model's). A claim without [n]:
    a passage holding a quote it contains, or a sentence similar enough (SUPPORT_MIN); else it stays uncited.
    A claim that no sentence supports (Evidence.supports) loses its markers and stays uncited."""
    text = parsed.text
    citations: dict[tuple[int, int, int], Citation] = {}
    for claim in parsed.claims:
        offered = [q for n in claim.numbers for q in parsed.quotes.get(n, [])]
        if not evidence.supports(claim.text, question) and not any(evidence.find(q) for q in offered):
            found = []  # e.g. world knowledge ("The capital of France is Paris [3]"): no passage backs it
        elif claim.numbers:
            found = [
                c for n in claim.numbers for c in _support(evidence, claim.text, question, n, parsed.quotes.get(n, []))
            ]
        else:
            found = [c for c in [_unmarked_support(evidence, claim.text, question)] if c]
        for c in found:
            citations.setdefault((c.n, c.start, c.end), c)
        numbers = list(dict.fromkeys(c.n for c in found))
        if numbers != claim.numbers:
            text = text.replace(claim.sentence, with_markers(claim.sentence, numbers), 1)
    return text, list(citations.values())


def _support(evidence: Evidence, claim: str, question: str, n: int, offered: list[str]) -> list[Citation]:
    """Citations backing a claim that cites passage n."""
    verified = [c for q in offered if (c := evidence.verify(q, n))]
    if verified:
        return verified
    moved = next((c for q in offered if (c := evidence.find(q))), None)  # exact quote, wrong number
    if moved:
        return [moved]
    own, overall = evidence.best(claim, question, n), evidence.best(claim, question)
    if overall and (own is None or _better_elsewhere(overall, own)):
        return [evidence.cite(overall, claim)]
    if own:
        return [evidence.cite(own, claim)]
    passage = evidence.passages[n - 1]  # its document vanished from the index: show the model's quote, unverified
    return [Citation(n, passage.source, passage.start, passage.start, q, False) for q in offered[:1]]


def _better_elsewhere(overall: Scored, own: Scored) -> bool:
    """Whether another passage's sentence supports the claim clearly better (a numbering slip by the model)."""
    if overall.sentence.n == own.sentence.n:
        return False
    return overall.score - own.score >= REASSIGN_MARGIN or (overall.score > own.score and overall.novel > own.novel)


def _unmarked_support(evidence: Evidence, claim: str, question: str) -> Citation | None:
    """For a claim without a marker: a quote it contains found in a passage, else a similar enough sentence."""
    for quote in _QUOTED.findall(claim):
        found = evidence.find(quote)
        if found:
            return found
    best = evidence.best(claim, question) if word_count(claim) >= 3 else None
    if best and evidence.embedder is not None and best.similarity >= SUPPORT_MIN:
        return evidence.cite(best, claim)
    return None


# ---------------------------------------------------------------- numbers

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NUMBER_WORDS = {
    str(i): w
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
} | {"30": "thirty", "40": "forty", "50": "fifty", "100": "hundred"}


def unsupported_numbers(answer: str, passages: Sequence[Passage], question: str = "") -> list[str]:
    """Numbers in the answer (markers aside) that no passage nor the question contains: a sign of invention."""
    haystack = " ".join([question, *(p.text for p in passages)])
    lowered = haystack.lower()
    missing = []
    for number in _NUMBER.findall(MARKER.sub(" ", answer)):
        if re.search(rf"(?<!\d){re.escape(number)}(?!\d)", haystack):
            continue
        word = _NUMBER_WORDS.get(number)
        if word and re.search(rf"\b{word}\b", lowered):
            continue
        missing.append(number)
    return missing
