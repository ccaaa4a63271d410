"""Before the model is asked: which retrieved passages state the answer, judged by the trained judge.

The judge scores every retrieved candidate against the question (milliseconds each). When none reaches
`answer.answerable_threshold` the question is declined without calling the model; otherwise the model reads
the passages the judge says answer (at or above `answer.read_threshold`, the best always) and the retriever's best
others, `answer.passages` in all, in the retriever's order. The judge reads each passage as the model would, without
its flagged text (rag/guard), and a passage that is mostly flagged text never takes a place only to fill it: a
planted document must not crowd the real answer out of what the model reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from ..config import AnswerSettings
from ..guard.flags import REMOVED, redact
from ..types import Passage, RefusalReason

MOSTLY_FLAGGED = 0.5  # share of a passage's characters flagged above which it only counts on the judge's score


class PassageJudge(Protocol):
    """Scores how likely each text states the answer to a question (0..1)."""

    name: str

    def answerability(self, question: str, texts: Sequence[str]) -> list[float]: ...


@dataclass(frozen=True)
class GateResult:
    """What the gate decided: the passages to read (best first), the best score, and why to decline (or None)."""

    passages: list[Passage]
    best: float | None
    reason: RefusalReason | None


def choose_passages(question: str, candidates: Sequence[Passage], judge: PassageJudge | None,
                    settings: AnswerSettings) -> GateResult:
    """The passages the model reads; decline when nothing was retrieved or the judge finds no answer in it."""
    if not candidates:
        return GateResult([], None, RefusalReason.NO_PASSAGES)
    if judge is None:  # the gate is off: the retriever's order, as many as the model reads
        return GateResult(list(candidates[:settings.passages]), None, None)
    readable = [redact(p.text, p.flags) for p in candidates]
    scores = judge.answerability(question, readable)
    scored = sorted(zip(scores, range(len(candidates))), key=lambda s: (-s[0], s[1]))  # ties keep retrieval order
    best = round(scored[0][0], 4)
    if best < settings.answerable_threshold:
        return GateResult([_with_score(candidates[i], s) for s, i in scored[:settings.passages]], best,
                          RefusalReason.UNANSWERABLE)
    kept = [(s, i) for s, i in scored if s >= settings.read_threshold][:settings.passages] or scored[:1]
    # The judge reads entities less well than the retriever matches them ("What did Kyrgyzstan do about CSTO
    # exercises?" scores the Armenia passage 0.69 and the Kyrgyzstan one 0.09), so the retriever's best passages
    # fill the places the judge left, and the model reads them all in the retriever's order.
    chosen = {i for _, i in kept}
    fill = [(s, i) for i, s in enumerate(scores) if i not in chosen and not _mostly_flagged(candidates[i], readable[i])]
    kept += fill[: settings.passages - len(kept)]
    return GateResult([_with_score(candidates[i], s) for s, i in sorted(kept, key=lambda k: k[1])], best, None)


def _mostly_flagged(passage: Passage, readable: str) -> bool:
    """Whether most of a passage's text was flagged as written to steer the assistant (and so removed)."""
    left = len(readable.replace(REMOVED, "").strip())
    return bool(passage.flags) and left < MOSTLY_FLAGGED * len(passage.text.strip())


def _with_score(passage: Passage, score: float) -> Passage:
    """A copy of the passage carrying the judge's score beside the retrievers'."""
    return replace(passage, scores={**passage.scores, "judge": round(float(score), 4)})
