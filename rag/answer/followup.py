"""Follow-ups: which questions lean on the conversation, so that condensing them is worth a model call."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..types import Answer


def history_pairs(answers: Sequence[Answer], limit: int = 3) -> list[tuple[str, str]]:
    """The last few (question, answer) exchanges, as follow-up condensing needs them."""
    return [(a.question, a.answer) for a in answers[-limit:]]


# A follow-up leans on the conversation: it opens with a connective or refers back with a pronoun.
_FOLLOW_UP_START = re.compile(r"^\W*(?:and|but|also|so|then|or|what about|how about|why not|same)\b", re.IGNORECASE)
_BACK_REFERENCE = re.compile(
    r"\b(?:it|its|they|them|their|he|him|his|she|her|this|that|these|those|there|the same|too|as well|else|"
    r"other|another|former|latter)\b", re.IGNORECASE)


def looks_like_follow_up(question: str) -> bool:
    """Whether a question needs the conversation to be understood (so it is worth condensing)."""
    words = re.findall(r"\w+", question)
    return len(words) <= 3 or bool(_FOLLOW_UP_START.search(question) or _BACK_REFERENCE.search(question))


def follow_up_history(answers: Sequence[Answer], question: str, limit: int = 3) -> list[tuple[str, str]]:
    """History to condense with, only for questions that look like follow-ups: a standalone one costs no LLM call."""
    return history_pairs(answers, limit) if answers and looks_like_follow_up(question) else []
