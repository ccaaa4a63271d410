"""Scoring open answers to a multiple-choice news quiz (RealTime QA): the answer is written freely, then read
for the choices it names.

Right = it holds the right choice and no other; wrong = it holds another choice, or none (a "near miss" such as
"a bald eagle" for the choice "Bird" is listed for a human read and counted wrong); declined = it was declined.
Answer recall@k = a top-k passage holds the right choice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..language.numbers import digits_of_words

STALE_DAYS = 30  # a wrong answer resting only on sources older than this before as-of is a "date" miss
# refusals decided by a check rather than by the model (rag.types.RefusalReason values)
_CHECK_REFUSALS = {"unanswerable", "unsupported", "no_citation"}


def normalise(text: str) -> list[str]:
    """Words of a text for matching choices: lower case, "&" read as "and", punctuation dropped ("U.S." = "us",
    "1,000" = "1000"), number words as digits ("six" = "6")."""
    text = text.lower().replace("&", " and ").replace("\u2019", "'")
    text = re.sub(r"(?<=\d)[,.](?=\d{3}\b)", "", text)  # thousands separators
    text = re.sub(r"(?<=\b\w)\.(?=\w\.)|(?<=\b\w\.\w)\.", "", text)  # "u.s." -> "us"
    words = re.findall(r"[\w']+", text)
    numbers = digits_of_words()
    return [numbers.get(w, w).replace("'", "") for w in words if w not in ("the", "a", "an")]


def holds(text: str, choice: str) -> bool:
    """Whether a text names a choice: the choice's words, in order, as whole words of the text."""
    needle, hay = normalise(choice), normalise(text)
    if not needle:
        return False
    size = len(needle)
    return any(hay[i:i + size] == needle for i in range(len(hay) - size + 1))


def verdict(answer: str, refused: bool, choices: Sequence[str], right: str) -> str:
    """"right", "wrong" or "declined" for an open answer to a quiz question."""
    if refused:
        return "declined"
    named = [c for c in choices if holds(answer, c)]
    # A choice inside another ("Bills" in "Buffalo Bills") is not a second answer.
    named = [c for c in named if not any(c != o and holds(o, c) for o in named)]
    return "right" if named == [right] else "wrong"


def near_miss(answer: str, refused: bool, choices: Sequence[str]) -> bool:
    """An answer that names none of the choices (it may say the right thing in other words): for a human read."""
    return not refused and not any(holds(answer, c) for c in choices)


def answer_recall(passage_texts: Sequence[str], right: str, k: int) -> float:
    """1.0 when one of the top-k passages holds the right choice."""
    return float(any(holds(text, right) for text in passage_texts[:k]))


def miss_kind(row: dict[str, Any]) -> str | None:
    """Why a quiz question was missed (None when it was not):
    - "retrieval": no top-5 passage names the right choice;
    - "judge": one does, but a check declined (the answerability gate, or the claim check removed every claim);
    - "date": the answer is wrong and rests only on sources more than STALE_DAYS older than the question;
    - "model": one does and the checks let it through, but the model answered wrong or declined;
    - "beyond ceiling": answered (wrong) although the question's own articles never name the right choice."""
    verdict = row.get("verdict")
    if verdict is None or verdict == "right":
        return None
    if not row["answerable"]:
        return "beyond ceiling" if verdict == "wrong" else None
    if not row["scores"]["quiz"].get("answer_recall@5"):
        return "retrieval"
    if verdict == "declined" and row.get("refusal_reason") in _CHECK_REFUSALS:
        return "judge"
    return "date" if verdict == "wrong" and _rests_on_stale_sources(row) else "model"


def _rests_on_stale_sources(row: dict[str, Any]) -> bool:
    """Every citation of the answer is dated more than STALE_DAYS before the question's as-of day."""
    dates = [c.get("date") for c in row.get("citations") or []]
    if not row.get("as_of") or not dates or not all(dates):
        return False
    as_of = dt.date.fromisoformat(row["as_of"][:10])
    return all((as_of - dt.date.fromisoformat(d[:10])).days > STALE_DAYS for d in dates)


def summarize_quiz(rows: Sequence[dict[str, Any]], k: int) -> dict[str, Any] | None:
    """The quiz section of metrics.json: right / wrong / declined, precision, answer recall@k against the ceiling
    (questions whose own articles hold the right choice), citations after as-of, misses by kind, near misses."""
    quiz = [r for r in rows if r["scores"].get("quiz")]
    if not quiz:
        return None
    ceiling = [r for r in quiz if r["answerable"]]
    summary: dict[str, Any] = {"n": len(quiz), "ceiling": len(ceiling), **_recalls(quiz, ceiling, k)}
    answered = [r for r in quiz if "verdict" in r]
    if answered:
        summary.update(_answer_figures(answered, [r for r in ceiling if "verdict" in r]))
    if any(r.get("baseline") for r in quiz):
        summary["baseline"] = _verdicts(_baseline_verdicts(quiz), _baseline_verdicts(ceiling))
    return summary


def _baseline_verdicts(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [r["baseline"]["verdict"] for r in rows if r.get("baseline")]


def _answer_figures(answered: Sequence[dict[str, Any]], ceiling: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Verdicts of rag's answers, citations after as-of, misses by kind and near misses."""
    return {**_verdicts([r["verdict"] for r in answered], [r["verdict"] for r in ceiling]),
            "cited_after_as_of": int(sum(r["scores"]["quiz"].get("cited_after_as_of", 0) for r in answered)),
            "misses": dict(Counter(kind for r in answered if (kind := miss_kind(r)))),
            "near_misses": [{"id": r["id"], "answer": r["answer"], "right": r["gold"]["answers"][0]}
                            for r in answered if r.get("near_miss")]}


def _recalls(quiz: Sequence[dict[str, Any]], ceiling: Sequence[dict[str, Any]], k: int) -> dict[str, float | None]:
    """Answer recall at k, 5 and 10, over all questions and the ceiling, for rag and (when it ran) the baseline."""
    figures: dict[str, float | None] = {}
    for depth in sorted({k, 5, 10}):
        for prefix in ("", "baseline_"):
            key = f"{prefix}answer_recall@{depth}"
            if any(key in r["scores"]["quiz"] for r in quiz):
                figures[key], figures[f"{key}_of_ceiling"] = _share(quiz, key), _share(ceiling, key)
    return figures


def _verdicts(verdicts: Sequence[str], ceiling_verdicts: Sequence[str]) -> dict[str, Any]:
    """Counts of right / wrong / declined, precision (right / answered), and the share of ceiling questions right."""
    counts = {v: sum(x == v for x in verdicts) for v in ("right", "wrong", "declined")}
    given = counts["right"] + counts["wrong"]
    return {**counts, "answer_precision": counts["right"] / given if given else None,
            "right_of_ceiling": _mean(float(v == "right") for v in ceiling_verdicts)}


def _share(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    return _mean(r["scores"]["quiz"][key] for r in rows if key in r["scores"]["quiz"])


def _mean(values) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None
