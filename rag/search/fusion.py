"""Fusing the dense and lexical rankings into one: reciprocal ranks or a convex sum of normalised scores."""

from __future__ import annotations

def reciprocal_rank_fusion(rankings: list[list[tuple[int, float]]], k: int = 60,
                           weights: list[float] | None = None) -> list[tuple[int, float]]:
    """Fuse ranked (id, score) lists: score(id) = sum over lists of weight / (k + rank), rank from 1."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = {}
    for weight, ranking in zip(weights, rankings):
        for rank, (item, _) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))


def convex_fusion(score_maps: list[dict[int, float]], weights: list[float]) -> list[tuple[int, float]]:
    """Fuse score maps: score(id) = sum of weight * min-max-normalised score, over the candidates' scores.

    Each map should score every candidate (the retriever fills in scores a list did not fetch);
    an id missing from a map counts as that map's minimum. A constant map adds nothing.
    """
    ids = sorted(set().union(*score_maps)) if score_maps else []
    fused = dict.fromkeys(ids, 0.0)
    for weight, scores in zip(weights, score_maps):
        if not scores:
            continue
        low, high = min(scores.values()), max(scores.values())
        if high <= low:
            continue
        for item in ids:
            fused[item] += weight * (scores.get(item, low) - low) / (high - low)
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))
