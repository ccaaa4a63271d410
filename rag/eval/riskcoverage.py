"""How the judge gate trades answers for safety: its AUC and the risk-coverage curve as its threshold moves.

Each row carries `answerability`, the judge's best P(a retrieved passage states the answer). At a threshold t a
question is answered when that score reaches t and the run answered it; the curve gives, for each t, the share of
questions answered (coverage), the precision of those answers (an unanswerable question answered is wrong), and
the refusal rates. A run made with `RAG_ANSWER__ANSWERABLE_THRESHOLD=0` shows the whole curve; below the run's own
threshold the curve is flat, since the questions it declined were never answered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

THRESHOLDS = [round(0.05 * i, 2) for i in range(0, 20)]


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve: the chance a random positive outscores a random negative (ties count half)."""
    positives = [s for s, y in zip(scores, labels) if y]
    negatives = [s for s, y in zip(scores, labels) if not y]
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def judge_gate_summary(rows: Sequence[dict], correct: Callable[[dict], float]) -> dict | None:
    """metrics.json's judge_gate section: AUC (answerable vs not) and the curve; None without judge scores.

    `correct(row)` is 1.0 for an answer counted right (metrics.answer_correct)."""
    scored = [r for r in rows if r.get("answerability") is not None and "refused" in r]
    if not scored:
        return None
    curve = [_point(scored, t, correct) for t in THRESHOLDS]
    return {"auc": auc([r["answerable"] for r in scored], [r["answerability"] for r in scored]),
            "n": len(scored), "curve": curve}


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def _point(rows: Sequence[dict], threshold: float, correct: Callable[[dict], float]) -> dict:
    """Coverage, precision and refusal rates if the gate declined every row scoring below `threshold`."""
    answers = [r["answerability"] >= threshold and not r["refused"] for r in rows]
    return {
        "threshold": threshold,
        "coverage": sum(answers) / len(rows),
        "precision": _mean(correct(r) for r, answered in zip(rows, answers) if answered),
        "refusal_rate": _mean(float(not a) for r, a in zip(rows, answers) if not r["answerable"]),
        "false_refusal_rate": _mean(float(not a) for r, a in zip(rows, answers) if r["answerable"]),
    }
