"""BM25 lexical index over passages (bm25s, saved as JSON + .npy, no pickle)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

LEXICAL_DIR = "lexical"


@lru_cache(maxsize=1)
def _stemmer():
    """English Snowball stemmer, or None when PyStemmer is missing."""
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:
        return None


def tokenize(texts: list[str]):
    """bm25s token lists: lower-cased, English stopwords removed, stemmed.

    On SciFact train claims this beats stemming alone and stopwords alone (nDCG@10 0.670 vs 0.668 vs
    0.641); no other k1/b or BM25 variant tried beats bm25s' defaults by more than 0.003.
    """
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)


def build_lexical(gen_dir: Path, texts: list[str]) -> None:
    """Build and save a BM25 index whose document ids are the passage ids 0..n-1."""
    import bm25s

    retriever = bm25s.BM25()
    if texts:
        retriever.index(tokenize(texts), show_progress=False)
    retriever.save(str(gen_dir / LEXICAL_DIR))


def top_k(scores: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
    """The k best (id, score) with a positive score, optionally only among `allowed` ids; ties by id."""
    import numpy as np

    if allowed is not None:
        mask = np.zeros(len(scores), dtype=bool)
        mask[list(allowed)] = True
        scores = np.where(mask, scores, 0.0)
    k = min(k, int(np.count_nonzero(scores > 0)))
    if k <= 0:
        return []
    best = np.argpartition(-scores, k - 1)[:k]
    return [(int(i), float(scores[i])) for i in sorted(best, key=lambda i: (-scores[i], i))]


class LexicalIndex:
    """A saved BM25 index, searched by question text."""

    def __init__(self, gen_dir: Path, n_docs: int):
        import bm25s

        self.n_docs = n_docs
        self.bm25 = bm25s.BM25.load(str(gen_dir / LEXICAL_DIR), mmap=False) if n_docs else None

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for a query (all zeros when no query word is indexed)."""
        import numpy as np

        query_tokens = tokenize([query])[0] if self.bm25 is not None else []
        if not query_tokens:
            return np.zeros(self.n_docs, dtype="float32")
        return np.asarray(self.bm25.get_scores(query_tokens), dtype="float32")

    def search(self, query: str, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """Top-k (passage id, BM25 score) with a positive score, optionally restricted to `allowed` ids."""
        if k <= 0:
            return []
        return top_k(self.scores(query), k, allowed)
