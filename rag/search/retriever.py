"""Question -> ranked passages: dense (FAISS) and lexical (BM25) fused, de-duplicated, optionally reranked."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import ConfigError
from ..index.backend import PassageStore, open_store
from ..news.outlets import source_key
from ..types import Passage
from .filters import Filters
from .fusion import convex_fusion, reciprocal_rank_fusion

if TYPE_CHECKING:
    from ..index.embed import Embedder

class Retriever:
    """Shared by the CLI, the UI and evaluation: `search(question)` returns ranked passages.

    Example::

        retriever = Retriever(load_settings(index="index/default"))
        retriever.search("Why did Armenia cancel CSTO exercises?", k=5, mode="hybrid",
                         filters=Filters(source="002_*", since="2023-01-01"))
    """

    def __init__(self, settings: Settings, store: PassageStore | None = None, embedder: Embedder | None = None):
        self.settings = settings
        self.store = store or open_store(settings)  # embedded folder index or Milvus (settings.store)
        if embedder is None:
            from ..index.embed import embedder_for

            embedder = embedder_for(settings.embed)
        self.store.check_model(embedder.model_id)
        self.embedder = embedder
        self._reranker = None

    def search(self, question: str, k: int | None = None, mode: str | None = None,
               filters: Filters | None = None) -> list[Passage]:
        """Top-k passages for a question, best first.

        k: passages returned (default settings.retrieve.k). mode: "dense", "lexical" or "hybrid"
        (default settings.retrieve.mode). filters: a Filters restricting sources and dates.
        Each passage carries its per-retriever scores in `scores` and the sources of the
        near-duplicates folded into it in `duplicates`.
        """
        cfg = self.settings.retrieve
        k = k or cfg.k
        mode = mode or cfg.mode
        if mode not in ("dense", "lexical", "hybrid"):
            raise ConfigError(f"unknown retrieval mode {mode!r}: use dense, lexical or hybrid")
        allowed = None
        if cfg.exclude_flagged:
            filters = replace(filters or Filters(), unflagged=True)
        if filters and filters.active():
            allowed = self.store.chunk_ids_where(filters.source, filters.since, filters.until, filters.unflagged,
                                                 not_after=filters.as_of)
            if not allowed:
                return []
        fetch = max(cfg.fetch_k, k)
        scores = self.candidate_scores(question, mode, fetch, allowed)
        ranked = self.fuse(scores, fetch) if mode == "hybrid" else _ranked(scores[mode])
        passages = self.store.passages(ranked[:fetch])
        _attach_scores(passages, scores, fused=mode == "hybrid")
        if cfg.reranker:
            passages = self.rerank(question, passages)
        return self.deduplicate(passages, cfg.dedup_threshold)[:k]

    def candidate_scores(self, question: str, mode: str, fetch: int,
                         allowed: set[int] | None = None) -> dict[str, dict[int, float]]:
        """Per retriever, id -> score of its top `fetch` passages; in hybrid mode both score every candidate."""
        import numpy as np

        scores: dict[str, dict[int, float]] = {}
        query_vector = None
        if mode in ("dense", "hybrid"):
            query_vector = self.embedder.embed_query(question)
            scores["dense"] = dict(self.store.dense_search(query_vector, fetch, allowed))
        if mode in ("lexical", "hybrid"):
            scores["lexical"] = dict(self.store.lexical_search(question, fetch, allowed))
        if mode == "hybrid":
            missing = sorted(set(scores["lexical"]) - set(scores["dense"]))
            if missing:
                sims = self.store.vectors_of(missing) @ np.asarray(query_vector, dtype="float32")
                scores["dense"].update(zip(missing, map(float, sims)))
            unscored = sorted(set(scores["dense"]) - set(scores["lexical"]))
            scores["lexical"].update(self.store.lexical_scores(question, unscored) if unscored else {})
        return scores

    def fuse(self, scores: dict[str, dict[int, float]], fetch: int) -> list[tuple[int, float]]:
        """Hybrid ranking of dense and lexical candidates by the configured fusion."""
        cfg = self.settings.retrieve
        weights = [cfg.dense_weight, 1.0 - cfg.dense_weight]
        maps = [scores["dense"], scores["lexical"]]
        if cfg.fusion == "convex":
            return convex_fusion(maps, weights)
        # each list's own top `fetch` (filled-in scores rank below them, so they drop out here)
        rankings = [_ranked(m)[:fetch] for m in maps]
        rankings[1] = [pair for pair in rankings[1] if pair[1] > 0]  # no lexical rank without a shared word
        return reciprocal_rank_fusion(rankings, cfg.rrf_k, [2 * w for w in weights])

    def deduplicate(self, passages: list[Passage], threshold: float) -> list[Passage]:
        """Greedy near-duplicate collapse: a passage too similar to a better-ranked one is folded into it, unless
        it states other figures (two reports of one event that differ on the toll are not copies)."""
        import numpy as np

        if threshold > 1.0 or len(passages) < 2:
            return passages
        vectors = np.asarray(self.store.vectors_of([p.chunk_id for p in passages]))
        kept: list[int] = []
        for i, passage in enumerate(passages):
            twin = next((j for j in kept if _copies(float(vectors[i] @ vectors[j]), threshold, passage, passages[j])),
                        None)
            if twin is None:
                kept.append(i)
            else:
                passages[twin].duplicates.append(passage.source)
                passages[twin].duplicate_keys.append(source_key(passage.origin or passage.outlet, passage.source))
        return [passages[i] for i in kept]

    def rerank(self, question: str, passages: list[Passage]) -> list[Passage]:
        """Re-order the first retrieve.rerank_depth passages with the configured cross-encoder (the rest follow)."""
        from .rerank import reranker_for

        if self._reranker is None:
            self._reranker = reranker_for(self.settings.retrieve.reranker)
        head, tail = passages[: self.settings.retrieve.rerank_depth], passages[self.settings.retrieve.rerank_depth:]
        for passage, score in zip(head, self._reranker(question, [p.text for p in head])):
            passage.scores["rerank"] = float(score)
            passage.score = float(score)
        return sorted(head, key=lambda p: -p.score) + tail

    def as_langchain(self):
        """This retriever as a LangChain BaseRetriever."""
        from .langchain_adapter import RagLangChainRetriever

        return RagLangChainRetriever(retriever=self)


COPY_SIMILARITY = 0.95  # above this, a passage is a copy even if a figure differs (a wire story cut differently)
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")


def _copies(similarity: float, threshold: float, a: Passage, b: Passage) -> bool:
    """Whether two passages count as one: similar enough, and stating the same figures unless nearly identical."""
    if similarity < threshold:
        return False
    return similarity >= COPY_SIMILARITY or set(_FIGURE.findall(a.text)) == set(_FIGURE.findall(b.text))


def _ranked(scores: dict[int, float]) -> list[tuple[int, float]]:
    """(id, score) pairs best first, ties by id."""
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def _attach_scores(passages: list[Passage], scores: dict[str, dict[int, float]], fused: bool) -> None:
    """Record each retriever's own score on the passage; `score` stays the fused/ranking score."""
    for passage in passages:
        for name, lookup in scores.items():
            if passage.chunk_id in lookup:
                passage.scores[name] = lookup[passage.chunk_id]
        if fused:
            passage.scores["fused"] = passage.score
