"""The trained judge behind the claim check's SupportJudge protocol, and the question-passage scores."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from .model_runner import PACKAGED, CrossEncoder
from .pairs import claim_text, question_text


class TrainedJudge:
    """The shipped cross-encoder asked two things: does a text answer a question, does a quote back a claim."""

    def __init__(self, model: CrossEncoder | None = None):
        self.model = model or CrossEncoder(PACKAGED)
        self.name = self.model.name

    def answerability(self, question: str, texts: Sequence[str]) -> list[float]:
        """For each text, P(it states the answer to `question`)."""
        first = question_text(question)
        return [float(s) for s in self.model.scores([(first, text) for text in texts])]

    def support(self, question: str, claim: str, evidence: str) -> float:
        """P(`evidence`, a quote or quotes, backs `claim` as an answer to `question`)."""
        return self.supports([(question, claim, evidence)])[0]

    def supports(self, items: Sequence[tuple[str, str, str]]) -> list[float]:
        """support() for many (question, claim, evidence) at once."""
        pairs = [(claim_text(claim, question), evidence) for question, claim, evidence in items]
        return [float(s) for s in self.model.scores(pairs)]


@lru_cache(maxsize=4)
def shared_judge(folder: Path | None = None) -> TrainedJudge:
    """One judge per process and model folder (the session and tokenizer load once)."""
    return TrainedJudge(CrossEncoder(folder or PACKAGED))
