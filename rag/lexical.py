"""BM25 lexical index over passages (bm25s, saved as JSON + .npy, no pickle)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

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
    """bm25s token lists: lower-cased, English stopwords removed, stemmed."""
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)


def build_lexical(gen_dir: Path, texts: list[str]) -> None:
    """Build and save a BM25 index whose document ids are the passage ids 0..n-1."""
    import bm25s

    retriever = bm25s.BM25()
    if texts:
        retriever.index(tokenize(texts), show_progress=False)
    retriever.save(str(gen_dir / LEXICAL_DIR))


class LexicalIndex:
    """A saved BM25 index, searched by question text."""

    def __init__(self, gen_dir: Path, n_docs: int):
        import bm25s

        self.n_docs = n_docs
        self.bm25 = bm25s.BM25.load(str(gen_dir / LEXICAL_DIR), mmap=False) if n_docs else None

    def search(self, query: str, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """Top-k (passage id, BM25 score) with a positive score, optionally restricted to `allowed` ids."""
        import numpy as np

        if self.bm25 is None or k <= 0:
            return []
        query_tokens = tokenize([query])[0]
        if not query_tokens:
            return []
        scores = self.bm25.get_scores(query_tokens)
        if allowed is not None:
            mask = np.zeros(len(scores), dtype=bool)
            mask[list(allowed)] = True
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores)[:k]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
