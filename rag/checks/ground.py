"""Grounding: attach to each claim of a parsed reply the verified quotes that back it, and spot invented numbers.

A claim with [n] gets the model's quotes verified in passage n, else the best sentence of passage n, or
of a clearly better passage (a numbering slip by the model). A claim without [n] gets a quote it holds
or a sentence similar enough. Claims nothing backs lose their markers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import word_count, with_markers
from ..types import Citation
from .evidence import SUPPORT_MIN, Evidence, Scored
from .reply import Claim, ParsedReply

# ---------------------------------------------------------------- grounding

REASSIGN_MARGIN = 0.1  # another passage must support a claim this much better to take over its citation
_QUOTED = re.compile(r"[\"“]([^\"“”]{8,}?)[\"”]")


@dataclass
class GroundedClaim:
    """One answer sentence as finally displayed (markers corrected), its text without markers, and its quotes."""

    sentence: str
    text: str
    citations: list[Citation]


def ground_claims(parsed: ParsedReply, evidence: Evidence, question: str = "") -> tuple[str, list[GroundedClaim]]:
    """Answer text and its claims with their citations. A claim with [n]: the model's quotes verified in passage n,
    else the best sentence of passage n, or of a clearly better passage (whose number then replaces the model's).
    A claim without [n]: a passage holding a quote it contains, or a sentence similar enough (SUPPORT_MIN); else it
    stays uncited. A claim that no sentence supports (Evidence.supports) loses its markers and stays uncited."""
    text = parsed.text
    grounded = []
    for claim in parsed.claims:
        found = _claim_support(evidence, claim, parsed.quotes, question)
        numbers = list(dict.fromkeys(c.n for c in found))
        sentence = claim.sentence if numbers == claim.numbers else with_markers(claim.sentence, numbers)
        text = text.replace(claim.sentence, sentence, 1)
        grounded.append(GroundedClaim(sentence, claim.text, found))
    return text, grounded


def _claim_support(evidence: Evidence, claim: Claim, quotes: dict[int, list[str]], question: str) -> list[Citation]:
    """The citations backing one claim (none when nothing in the passages backs it)."""
    offered = [q for n in claim.numbers for q in quotes.get(n, [])]
    if not evidence.supports(claim.text, question) and not any(evidence.find(q) for q in offered):
        return []  # e.g. world knowledge ("The capital of France is Paris [3]"): no passage backs it
    if claim.numbers:
        return [c for n in claim.numbers for c in _with_context(
            evidence, claim.text, question, _support(evidence, claim.text, question, n, quotes.get(n, [])))]
    return [c for c in [_unmarked_support(evidence, claim.text, question)] if c]


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


def _with_context(evidence: Evidence, claim: str, question: str, cited: list[Citation]) -> list[Citation]:
    """A passage's citations for a claim, plus the neighbouring sentence its quote leans on (Evidence.context),
    in reading order."""
    if not cited or not cited[0].verified:
        return cited
    extra = evidence.context(claim, question, cited[0].n, cited)
    return sorted([*cited, extra], key=lambda c: c.start) if extra else cited


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
