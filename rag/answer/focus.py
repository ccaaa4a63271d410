"""Shorter prompts: passages cut to the sentences that best match the question, within a word budget.

The local model reads ~67 prompt tokens/s on 2 cores, so every sentence it is shown costs time before the
first word of the answer, and a small model is distracted by text beside the point. Passages keep their
numbers and offsets; only the text the model reads is cut (kept sentences in file order, "…" where some
were left out). Quotes are still verified against the whole passage, so a quote of kept text verifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..text import word_count
from ..types import Passage
from ..checks.evidence import Evidence, Scored, Sentence

GAP_MARK = "…"  # stands for sentences left out


def focus_passages(passages: Sequence[Passage], evidence: Evidence, question: str, budget: int) -> list[Passage]:
    """The passages with their text cut to the best-matching sentences, about `budget` words in all (0: uncut)."""
    if budget <= 0 or sum(word_count(p.text) for p in passages) <= budget:
        return list(passages)
    kept = _choose(evidence.score(question, question), budget)
    return [_cut(p, n, evidence, kept) for n, p in enumerate(passages, start=1)]


def _choose(scored: list[Scored], budget: int) -> set[int]:
    """ids of the sentences to keep: every passage's best one first, then the best of the rest while they fit."""
    ranked = sorted(scored, key=lambda s: s.score, reverse=True)
    best_of: dict[int, Scored] = {}
    for s in ranked:
        best_of.setdefault(s.sentence.n, s)
    firsts = list(best_of.values())
    kept: set[int] = set()
    used = 0
    for s in firsts + [s for s in ranked if s not in firsts]:
        words = word_count(s.sentence.text)
        if s in firsts or used + words <= budget:  # a passage is never shown empty
            kept.add(id(s.sentence))
            used += words
    return kept


def _cut(passage: Passage, n: int, evidence: Evidence, kept: set[int]) -> Passage:
    """Passage n with only its kept sentences as text (uncut when none of its sentences is known)."""
    sentences: list[Sentence] = [s for s in evidence.sentences if s.n == n]
    if not sentences:
        return passage
    parts: list[str] = []
    gap = False  # sentences were left out since the last kept one
    for sentence in sentences:
        if id(sentence) not in kept:
            gap = True
            continue
        parts += [GAP_MARK] * gap + [" ".join(sentence.text.split())]
        gap = False
    parts += [GAP_MARK] * gap
    return replace(passage, text=" ".join(parts))
