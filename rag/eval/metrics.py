"""Metric functions: retrieval (hit, recall, MRR, nDCG), answers (EM, F1, containment, must), citations, refusals.

All functions are pure and deterministic; `runner.py` feeds them and `aggregate` averages them.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

from ..text import TYPOGRAPHIC, fold_typography, strip_markers
from .riskcoverage import judge_gate_summary

_ARTICLES = re.compile(r"\b(a|an|the)\b")


# ---------------------------------------------------------------- normalisation


def normalize_quote(text: str) -> str:
    """Whitespace and typographic-quote/dash normalised text, for verbatim comparison."""
    return fold_typography(text)


def normalize_for_match(text: str) -> str:
    """normalize_quote, case-folded: used to decide whether a passage contains a gold quote."""
    return normalize_quote(text).casefold()


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.translate(TYPOGRAPHIC).lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    return " ".join(_ARTICLES.sub(" ", text).split())


def strip_citations(text: str) -> str:
    """Answer text without `[n]` markers."""
    return strip_markers(text)


# ---------------------------------------------------------------- retrieval


def quote_pieces(texts: Sequence[str], quotes: Sequence[str], quote_sources: Sequence[str] = (),
                 duplicate_sources: Sequence[str] = (), near: float = 0.8) -> set[int]:
    """Indexes of the gold quotes a passage holds.

    `texts` are the passage's texts (cleaned, and its span of the original). A quote counts when
    it appears whole (whitespace/quote-normalised, case-folded); a near-duplicate copy from the
    quote's source (in `duplicate_sources`) counts when the kept passage holds `near` of its words.
    """
    haystacks = [normalize_for_match(t) for t in texts]

    def holds(i: int, quote: str) -> bool:
        needle = normalize_for_match(quote)
        if needle and any(needle in h for h in haystacks):
            return True
        from_duplicate = i < len(quote_sources) and quote_sources[i] in duplicate_sources
        return from_duplicate and max((token_coverage(quote, t) for t in texts), default=0.0) >= near

    return {i for i, quote in enumerate(quotes) if holds(i, quote)}


def source_pieces(sources: Sequence[str], relevant_sources: Sequence[str]) -> set[int]:
    """Indexes of the relevant sources among a passage's sources (its own plus collapsed duplicates)."""
    wanted = set(sources)
    return {i for i, s in enumerate(relevant_sources) if s in wanted}


def token_coverage(part: str, text: str) -> float:
    """Share of `part`'s normalised words found in `text` (multiset)."""
    words = Counter(normalize_answer(part).split())
    if not words:
        return 0.0
    return sum((words & Counter(normalize_answer(text).split())).values()) / sum(words.values())


def first_ranks(covered: Sequence[set[int]]) -> dict[int, int]:
    """Gold piece -> 1-based rank of the first passage covering it."""
    ranks: dict[int, int] = {}
    for rank, pieces in enumerate(covered, start=1):
        for piece in pieces:
            ranks.setdefault(piece, rank)
    return ranks


def hit_at(covered: Sequence[set[int]], k: int) -> float:
    """1.0 when any of the top-k passages covers a gold piece."""
    return float(any(covered[:k]))


def recall_at(covered: Sequence[set[int]], n_gold: int, k: int) -> float:
    """Share of gold pieces covered by the top-k passages."""
    if n_gold == 0:
        return 0.0
    return len(set().union(*covered[:k])) / n_gold if covered[:k] else 0.0


def mrr_at(covered: Sequence[set[int]], k: int = 10) -> float:
    """Reciprocal rank of the first passage covering any gold piece (0 when none in the top k)."""
    return next((1.0 / rank for rank, pieces in enumerate(covered[:k], start=1) if pieces), 0.0)


def ndcg_at(covered: Sequence[set[int]], n_gold: int, k: int = 10) -> float:
    """Binary-relevance nDCG over gold pieces, each gaining once at the first passage holding it.

    Pieces first found in the same passage count at consecutive ranks (r, r+1, ...), so the ranking
    is read as a list of evidence pieces: a perfect ranking scores exactly 1, never more.
    """
    if n_gold == 0:
        return 0.0
    ranks, previous = [], 0
    for first in sorted(first_ranks(covered[:k]).values()):
        previous = max(first, previous + 1)
        ranks.append(previous)
    dcg = sum(1.0 / math.log2(r + 1) for r in ranks)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(n_gold, k) + 1))
    return dcg / ideal


def dedupe_by_source(sources: Sequence[str]) -> list[int]:
    """Indexes of the first passage of each source (BEIR-style: a document ranks where its best passage ranks)."""
    seen: set[str] = set()
    keep = []
    for i, source in enumerate(sources):
        if source not in seen:
            seen.add(source)
            keep.append(i)
    return keep


def retrieval_scores(covered: Sequence[set[int]], n_gold: int, k: int) -> dict[str, float]:
    """hit@k, recall@k, hit@10, recall@10, MRR@10 and nDCG@10 for one question."""
    scores = {f"hit@{k}": hit_at(covered, k), f"recall@{k}": recall_at(covered, n_gold, k)}
    scores.update({"hit@10": hit_at(covered, 10), "recall@10": recall_at(covered, n_gold, 10),
                   "mrr@10": mrr_at(covered, 10), "ndcg@10": ndcg_at(covered, n_gold, 10)})
    return scores


# ---------------------------------------------------------------- answers


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 of a prediction against one gold answer."""
    pred_tokens, gold_tokens = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred_tokens), common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def best_f1(prediction: str, golds: Sequence[str]) -> float:
    """Token F1 against the best-matching gold answer."""
    return max((token_f1(prediction, g) for g in golds), default=0.0)


def contains_answer(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when a normalised gold answer appears inside the normalised prediction."""
    pred = f" {normalize_answer(prediction)} "
    return float(any(normalize_answer(g) and f" {normalize_answer(g)} " in pred for g in golds))


def must_pass(prediction: str, groups: Sequence[Sequence[str]]) -> float:
    """1.0 when every keyword group has an alternative in the prediction (case-insensitive substring)."""
    text = normalize_for_match(prediction)
    return float(all(any(normalize_for_match(alt) in text for alt in group) for group in groups))


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors (0 for a zero vector)."""
    import numpy as np

    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm else 0.0


# ---------------------------------------------------------------- citations


def quote_matches_source(quote: str, original: str | None, start: int, end: int) -> bool:
    """Independent check that a displayed quote is original[start:end], modulo whitespace and quote marks."""
    if original is None or not quote.strip() or not 0 <= start < end <= len(original):
        return False
    return normalize_quote(quote) == normalize_quote(original[start:end])


def citation_precision(cited_relevant: Sequence[bool]) -> float | None:
    """Share of cited passages that hold gold evidence (None when nothing was cited)."""
    return sum(cited_relevant) / len(cited_relevant) if cited_relevant else None


def citation_recall(cited_pieces: Iterable[int], n_gold: int) -> float | None:
    """Share of gold evidence pieces held by a cited passage (None without gold evidence)."""
    return len(set(cited_pieces)) / n_gold if n_gold else None


# ---------------------------------------------------------------- aggregation


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (linear interpolation), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(rows: Sequence[dict]) -> dict[str, dict]:
    """metrics.json sections from results rows: means per score section, citation shares, refusals, latency."""
    summary: dict[str, dict] = {}
    for section in ("retrieval", "retrieval_docs", "answer", "judge"):
        scored = [r["scores"][section] for r in rows if r["scores"].get(section)]
        if scored:
            keys = list(dict.fromkeys(key for s in scored for key in s))
            summary[section] = {key: mean(s.get(key) for s in scored) for key in keys} | {"n": len(scored)}
    _add_answer_sections(summary, rows)
    summary["latency"] = {stage: {"p50": percentile(v, 50), "p95": percentile(v, 95), "n": len(v)}
                          for stage, v in stage_times(rows).items()}
    summary["pass_rate"] = {"all": mean(float(r["pass"]) for r in rows), "n": len(rows)}
    return summary


def _add_answer_sections(summary: dict[str, dict], rows: Sequence[dict]) -> None:
    """The citations, refusal and claims sections, where the rows have them."""
    if any("citations" in r["scores"] for r in rows):
        summary["citations"] = _citation_summary([r for r in rows if "citations" in r["scores"]])
    summary["refusal"] = _refusal_summary(rows)
    if any("claims" in r["scores"] for r in rows):
        summary["claims"] = _claim_summary(rows)
    if gate := judge_gate_summary(rows, answer_correct):
        summary["judge_gate"] = gate


def _citation_summary(rows: Sequence[dict]) -> dict:
    """Verified share over all displayed quotes; precision over answers with citations; recall over answerable items."""
    cites = [r["scores"]["citations"] for r in rows]
    total = sum(c["count"] for c in cites)
    answered = [r for r in rows if r["answerable"] and not r.get("refused")]
    return {
        "verified_share": sum(c["verified"] for c in cites) / total if total else None,
        "citations": int(total),
        "answers_with_citations": mean(float(r["scores"]["citations"]["count"] > 0) for r in answered),
        "precision": mean(c.get("precision") for c in cites),
        "recall": mean(c.get("recall") for c in cites),
        "n_precision": sum("precision" in c for c in cites),
        "n_recall": sum("recall" in c for c in cites),
    }


def _claim_summary(rows: Sequence[dict]) -> dict:
    """Claims checked/kept/removed; precision as correct/answered (PaperQA2: declining is not a wrong answer)."""
    claims = [r["scores"]["claims"] for r in rows if "claims" in r["scores"]]
    checked = sum(c["checked"] for c in claims)
    answered = [r for r in rows if "answer" in r["scores"] and not r.get("refused")]
    correct = [answer_correct(r) for r in answered]
    judged = [c["judge_supported"] for c in claims if "judge_supported" in c]
    return {
        "checked": int(checked), "kept": int(sum(c["kept"] for c in claims)),
        "removed_share": sum(c["removed"] for c in claims) / checked if checked else None,
        "judge_support_rate": mean(judged), "n_judged": len(judged),
        "precision_answered": mean(correct), "n_answered": len(answered),
        "accuracy": sum(correct) / len(rows) if rows else None,
    }


def answer_correct(row: dict) -> float:
    """1.0 for an answer counted correct: an unanswerable question answered is wrong; else must/contains/F1/judge."""
    if not row["answerable"]:
        return 0.0
    answer = row["scores"].get("answer") or {}
    if not answer:
        return 1.0
    return float(answer.get("must_pass", max(answer.get("contains", 0.0), float(answer.get("f1", 0.0) >= 0.5))))


def _refusal_summary(rows: Sequence[dict]) -> dict:
    """Refusal rate on unanswerable items and false-refusal rate on answerable ones (answer or judge gate)."""
    key = "refusal" if any("refusal" in r["scores"] for r in rows) else "gate"
    scored = [r for r in rows if key in r["scores"]]
    unanswerable = [r["scores"][key]["refused"] for r in scored if not r["answerable"]]
    answerable = [r["scores"][key]["refused"] for r in scored if r["answerable"]]
    return {"source": "answer" if key == "refusal" else "judge gate (answer.answerable_threshold)",
            "refusal_rate": mean(unanswerable), "false_refusal_rate": mean(answerable),
            "n_unanswerable": len(unanswerable), "n_answerable": len(answerable)}


def stage_times(rows: Sequence[dict]) -> dict[str, list[float]]:
    """Seconds per stage across rows, stages in first-seen order."""
    stages: dict[str, list[float]] = {}
    for row in rows:
        for stage, seconds in (row.get("timings") or {}).items():
            if isinstance(seconds, (int, float)):
                stages.setdefault(stage, []).append(float(seconds))
    return stages
