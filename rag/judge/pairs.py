"""How the judge's first segment is written, for training (scripts/judge_data.py) and at question time alike."""

from __future__ import annotations


def question_text(question: str) -> str:
    """First segment of an answerability pair: does the second text state the answer to this question?"""
    return f"question: {' '.join(question.split())}"


def claim_text(claim: str, question: str = "") -> str:
    """First segment of a support pair: does the second text (a quote) back this claim, given the question?"""
    claim = " ".join(claim.split())
    return f"claim: {claim}" if not question.strip() else f"claim: {claim} (question: {' '.join(question.split())})"
