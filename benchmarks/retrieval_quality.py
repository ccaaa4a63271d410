"""Retrieval quality per mode and fusion: SciFact nDCG@10 / recall@10 / MRR@10, seed_dev evidence hit@5.

    .venv/bin/python benchmarks/retrieval_quality.py [--split validation] [--limit N] [--variants dense,hybrid-rrf]

Builds index/scifact and index/seed once (SciFact: ~5k abstracts, 10-40 min on 2 cores), then reuses them.
Ratios are against the dense baseline measured in the same run. Metric functions come from rag/eval/metrics.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import INDEX_ROOT, SHARED, dataset, embedder, settings_for, table

# name -> retrieve.* settings; "hybrid" is whatever the defaults in rag/config.py are
VARIANTS: dict[str, dict[str, object]] = {
    "dense": {"mode": "dense"},
    "lexical": {"mode": "lexical"},
    "hybrid": {"mode": "hybrid"},
    "hybrid-rrf": {"mode": "hybrid", "fusion": "rrf", "dense_weight": 0.5},
    "hybrid-convex-0.5": {"mode": "hybrid", "fusion": "convex", "dense_weight": 0.5},
    "hybrid-convex-0.7": {"mode": "hybrid", "fusion": "convex", "dense_weight": 0.7},
    "hybrid-dedup-0.90": {"mode": "hybrid", "dedup_threshold": 0.90},
    "hybrid-no-dedup": {"mode": "hybrid", "dedup_threshold": 1.01},
}
SOURCE_DEPTH = 30  # passages per claim, so ~10 distinct abstracts remain for @10 metrics


def retriever_for(index: Path, overrides: dict[str, object]):
    from rag.search.retriever import Retriever

    return Retriever(settings_for(index, **overrides), embedder=embedder())


def scifact_scores(gold, index: Path, overrides: dict[str, object]) -> dict[str, float]:
    """Mean document-level nDCG@10, recall@10, MRR@10 (a document ranks where its best passage ranks)."""
    from rag.eval import metrics as m

    retriever = retriever_for(index, overrides)
    rows = []
    for item in gold:
        passages = retriever.search(item.question, k=SOURCE_DEPTH)
        firsts = [passages[i] for i in m.dedupe_by_source([p.source for p in passages])]
        covered = [m.source_pieces([p.source, *p.duplicates], item.relevant_sources) for p in firsts]
        row = m.retrieval_scores(covered, len(item.relevant_sources), 10)
        strict = [m.source_pieces([p.source], item.relevant_sources) for p in firsts]  # no credit for folded twins
        row["strict ndcg@10"] = m.ndcg_at(strict, len(item.relevant_sources), 10)
        rows.append(row)
    return {key: m.mean(r[key] for r in rows) for key in ("ndcg@10", "recall@10", "mrr@10", "strict ndcg@10")}


def seed_hit_at_5(gold, index: Path, overrides: dict[str, object]) -> float:
    """Share of answerable seed_dev questions with a gold quote inside one of the top-5 passages."""
    from rag.eval import metrics as m

    retriever = retriever_for(index, overrides)
    hits = []
    for item in (g for g in gold if g.evidence):
        passages = retriever.search(item.question, k=5)
        covered = []
        for p in passages:
            original = retriever.store.document_original(p.source) or ""
            covered.append(m.quote_pieces([p.text, original[p.start:p.end]], [e.quote for e in item.evidence],
                                          [e.source for e in item.evidence], p.duplicates))
        hits.append(m.hit_at(covered, 5))
    return sum(hits) / len(hits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="validation", help="SciFact claims split (validation; train for tuning)")
    parser.add_argument("--limit", type=int, default=None, help="first N claims only")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names from VARIANTS")
    parser.add_argument("--index-root", type=Path, default=INDEX_ROOT)
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args()

    from rag.eval.datasets import scifact_gold

    _, scifact_index = dataset("scifact", args.index_root, args.shared)
    seed_gold, seed_index = dataset("seed", args.index_root, args.shared)
    claims = scifact_gold(args.shared, args.split)[: args.limit]
    names = [n for n in args.variants.split(",") if n]
    results = {}
    for name in names:
        results[name] = scifact_scores(claims, scifact_index, VARIANTS[name])
        results[name]["seed hit@5"] = seed_hit_at_5(seed_gold, seed_index, VARIANTS[name])
        print(f"{name:<20} " + "  ".join(f"{k} {v:.3f}" for k, v in results[name].items()), flush=True)
    base = results.get("dense") or results[names[0]]
    header = ["variant", "nDCG@10", "recall@10", "MRR@10", "strict nDCG@10", "seed hit@5", "nDCG vs dense"]
    rows = [[n, r["ndcg@10"], r["recall@10"], r["mrr@10"], r["strict ndcg@10"], r["seed hit@5"],
             f"{r['ndcg@10'] / base['ndcg@10']:.3f}x"] for n, r in results.items()]
    print(f"\nSciFact {args.split} ({len(claims)} claims), seed_dev ({sum(bool(g.evidence) for g in seed_gold)} "
          "answerable questions)\n")
    print(table(header, rows))


if __name__ == "__main__":
    main()
