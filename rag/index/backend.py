"""What retrieval and indexing need from a passage store, and the choice of backend by settings.

Two backends implement `PassageStore`: the embedded folder index (store.py: FAISS + SQLite + bm25s,
the default) and Milvus (milvus_store.py: a Milvus Lite file or a Milvus server, the same client
code). Passage ids are the store's own integers; only the store that handed them out reads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..config import Settings
from ..errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from ..types import Passage
    from .writer import IndexContent

Hits = list[tuple[int, float]]


class PassageStore(Protocol):
    """Read side of an index: searches, scores and passages by id; `check_model` guards the embedding model."""

    manifest: dict[str, Any]

    @property
    def model_id(self) -> str: ...

    @property
    def size(self) -> int: ...

    def check_model(self, model_id: str, dim: int | None = None) -> None: ...

    def dense_search(self, query_vector: np.ndarray, k: int, allowed: set[int] | None = None) -> Hits: ...

    def lexical_search(self, query: str, k: int, allowed: set[int] | None = None) -> Hits: ...

    def lexical_scores(self, query: str, ids: list[int]) -> dict[int, float]: ...

    def vectors_of(self, ids: list[int]) -> np.ndarray: ...

    def passages(self, hits: Hits) -> list[Passage]: ...

    def chunk_ids_where(self, source_glob: str | None = None, since: str | None = None,
                        until: str | None = None) -> set[int]: ...

    def documents(self) -> list[dict[str, Any]]: ...

    def document_original(self, source: str) -> str | None: ...

    def is_current(self) -> bool: ...

    def close(self) -> None: ...

    def __enter__(self) -> PassageStore: ...

    def __exit__(self, *exc: object) -> None: ...


def open_store(settings: Settings) -> PassageStore:
    """The store the settings name, opened for reading."""
    backend = settings.store.backend
    if backend == "milvus":
        from .milvus_store import MilvusStore

        return MilvusStore.open(settings)
    if backend != "embedded":  # settings validate this; a hand-built Settings may not
        raise ConfigError(f"unknown store backend {backend!r}: use embedded or milvus (RAG_STORE__BACKEND)")
    from .store import IndexStore

    return IndexStore(settings.index)


def write_store(settings: Settings, content: IndexContent, manifest: dict[str, Any]) -> None:
    """Write a whole index (first build or rebuild) to the configured backend and make it live atomically."""
    if settings.store.backend == "milvus":
        from .milvus_writer import write_full

        write_full(settings, content, manifest)
        return
    from .writer import write_index

    write_index(settings.index, content, manifest, settings.retrieve.hnsw_threshold, settings.write_lock_wait)
