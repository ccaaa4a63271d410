"""Search: question -> ranked passages (dense + BM25 fused, near-duplicates collapsed, optionally reranked)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .filters import Filters

if TYPE_CHECKING:
    from ..index.embed import Embedder
    from ..types import Passage

__all__ = ["Filters", "Searcher"]


class Searcher(Protocol):
    """What answering needs from retrieval: ranked passages, and the embedder that scores evidence sentences."""

    embedder: Embedder | None

    def search(
        self, question: str, k: int | None = None, mode: str | None = None, filters: Filters | None = None
    ) -> list[Passage]: ...
