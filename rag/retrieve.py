"""Question -> ranked passages: dense (FAISS) and lexical (BM25) fused, de-duplicated, optionally reranked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import Settings
from .store import IndexStore
from .types import Passage

if TYPE_CHECKING:
    from .embed import Embedder


@dataclass
class Filters:
    """Restrict retrieval by source glob and by publication date (ISO, inclusive)."""

    source: str | None = None
    since: str | None = None
    until: str | None = None

    def active(self) -> bool:
        """Whether any restriction is set."""
        return bool(self.source or self.since or self.until)


def reciprocal_rank_fusion(rankings: list[list[tuple[int, float]]], k: int = 60) -> list[tuple[int, float]]:
    """Fuse ranked (id, score) lists: score(id) = sum over lists of 1 / (k + rank), rank from 1."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (item, _) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))


class Retriever:
    """Shared by the CLI, the UI and evaluation: `search(question)` returns ranked passages."""

    def __init__(self, settings: Settings, store: IndexStore | None = None, embedder: Embedder | None = None):
        self.settings = settings
        self.store = store or IndexStore(settings.index)
        if embedder is None:
            from .embed import get_embedder

            embedder = get_embedder(settings.embed.model, settings.embed.batch_size, settings.embed.device)
        self.store.check_model(embedder.model_id)
        self.embedder = embedder
        self._reranker = None

    def search(self, question: str, k: int | None = None, mode: str | None = None,
               filters: Filters | None = None) -> list[Passage]:
        """Top-k passages for a question."""
        cfg = self.settings.retrieve
        k = k or cfg.k
        mode = mode or cfg.mode
        allowed = self.store.chunk_ids_where(filters.source, filters.since, filters.until) if filters and filters.active() else None
        if allowed is not None and not allowed:
            return []
        fetch = max(cfg.fetch_k, k)
        rankings = {}
        if mode in ("dense", "hybrid"):
            rankings["dense"] = self.store.dense_search(self.embedder.embed_query(question), fetch, allowed)
        if mode in ("lexical", "hybrid"):
            rankings["lexical"] = self.store.lexical.search(question, fetch, allowed)
        ranked = reciprocal_rank_fusion(list(rankings.values()), cfg.rrf_k) if mode == "hybrid" else rankings[mode]
        passages = self.store.passages(ranked[:fetch])
        _attach_scores(passages, rankings)
        if cfg.reranker:
            passages = self.rerank(question, passages)
        return self.deduplicate(passages, cfg.dedup_threshold)[:k]

    def deduplicate(self, passages: list[Passage], threshold: float) -> list[Passage]:
        """Greedy near-duplicate collapse: a passage too similar to a better-ranked one is folded into it."""
        import numpy as np

        if threshold > 1.0 or len(passages) < 2:
            return passages
        vectors = np.asarray(self.store.vectors[[p.chunk_id for p in passages]])
        kept: list[int] = []
        for i, passage in enumerate(passages):
            twin = next((j for j in kept if float(vectors[i] @ vectors[j]) >= threshold), None)
            if twin is None:
                kept.append(i)
            else:
                passages[twin].duplicates.append(passage.source)
        return [passages[i] for i in kept]

    def rerank(self, question: str, passages: list[Passage]) -> list[Passage]:
        """Re-order with the configured cross-encoder."""
        from .rerank import load_cross_encoder

        if self._reranker is None:
            self._reranker = load_cross_encoder(self.settings.retrieve.reranker)
        scores = self._reranker.predict([(question, p.text) for p in passages])
        for passage, score in zip(passages, scores):
            passage.scores["rerank"] = float(score)
            passage.score = float(score)
        return sorted(passages, key=lambda p: -p.score)

    def as_langchain(self):
        """This retriever as a LangChain BaseRetriever."""
        from .langchain_adapter import RagLangChainRetriever

        return RagLangChainRetriever(retriever=self)


def _attach_scores(passages: list[Passage], rankings: dict[str, list[tuple[int, float]]]) -> None:
    """Record each retriever's own score on the passage; `score` stays the fused/ranking score."""
    lookups = {name: dict(ranking) for name, ranking in rankings.items()}
    fused = len(rankings) > 1
    for passage in passages:
        for name, lookup in lookups.items():
            if passage.chunk_id in lookup:
                passage.scores[name] = lookup[passage.chunk_id]
        if fused:
            passage.scores["fused"] = passage.score
