"""What indexing, retrieval and the faces need from a passage store, and the one place a backend is chosen.

Two backends implement `PassageStore`: the embedded folder index (store.py: FAISS + SQLite + bm25s,
the default) and Milvus (milvus_store.py: a Milvus Lite file or a Milvus server, the same client
code). Passage and document ids are the store's own integers; only the store that handed them out
reads them. Code outside rag/index/ opens a store with `open_store` and never names a backend's class;
build.py writes through `open_for_update`, `write_change` and `write_store`.
Both stores make their document rows and passages' news fields alike (rows.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..config import Settings
from ..errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from ..types import Chunk, Document, DocumentRow, Passage
    from .integrity import CheckResult
    from .embed import Embedder
    from .rows import IndexContent

Hits = list[tuple[int, float]]
Chunked = list[tuple["Document", list["Chunk"]]]  # new documents with their passages, as build.py plans them


class PassageStore(Protocol):
    """An open index: searches, passages and documents by id (read side), and what a write carries over from it
    (`load_documents`, `chunks_of`, the key maps, `vectors_of`). `check_model` guards the embedding model."""

    manifest: dict[str, Any]

    @property
    def model_id(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def described(self) -> str: ...

    @property
    def generation(self) -> str: ...

    def check_model(self, model_id: str, dim: int | None = None) -> None: ...

    # ---- searches and passages

    def dense_search(self, query_vector: np.ndarray, k: int, allowed: set[int] | None = None) -> Hits: ...

    def lexical_search(self, query: str, k: int, allowed: set[int] | None = None) -> Hits: ...

    def lexical_scores(self, query: str, ids: list[int]) -> dict[int, float]: ...

    def vectors_of(self, ids: list[int]) -> np.ndarray: ...

    def passages(self, hits: Hits) -> list[Passage]: ...

    def chunk_ids_where(self, source_glob: str | None = None, since: str | None = None,
                        until: str | None = None, unflagged: bool = False,
                        not_after: str | None = None) -> set[int]: ...

    # ---- documents

    def documents(self) -> list[DocumentRow]: ...

    def document_original(self, source: str) -> str | None: ...

    def load_documents(self, doc_ids: list[int] | None = None) -> list[Document]: ...

    def chunks_of(self, doc_id: int) -> list[Chunk]: ...

    def sources_by_key(self) -> dict[str, str]: ...

    def document_ids_by_key(self) -> dict[str, tuple[int, str]]: ...

    # ---- lifetime

    def is_current(self) -> bool: ...

    def close(self) -> None: ...

    def __enter__(self) -> PassageStore: ...

    def __exit__(self, *exc: object) -> None: ...


# ---- the backends: chosen by settings.store.backend in `_backend`, nowhere else


class _Embedded:
    """The folder index: generations of FAISS + SQLite + bm25s files under settings.index."""

    def open(self, settings: Settings) -> PassageStore:
        """The live generation, leased while open."""
        from .embedded.store import IndexStore

        return IndexStore(settings.index)

    def open_for_update(self, settings: Settings, rebuild: bool) -> PassageStore | None:
        """The live generation, unless rebuilding or the folder holds none yet."""
        import os

        from .generations import CURRENT, has_generations

        root = Path(settings.index)
        if rebuild or not (os.path.lexists(root / CURRENT) or has_generations(root)):
            return None
        return self.open(settings)

    def write(self, settings: Settings, content: IndexContent, manifest: dict[str, Any]) -> None:
        """A new generation, made live by flipping CURRENT."""
        from .embedded.writer import write_index

        write_index(settings.index, content, manifest, settings.retrieve.hnsw_threshold, settings.write_lock_wait)

    def write_change(self, settings: Settings, existing: PassageStore, keep_ids: list[int], chunked: Chunked,
                     embedder: Embedder | None, progress: bool) -> tuple[int, dict[str, int]] | None:
        """A delta segment beside a large base; None (rewrite) for a small index or an outgrown delta."""
        from .embedded.segments import fits_a_segment, write_segment

        if not fits_a_segment(existing, settings, keep_ids, chunked):  # a small index is rewritten whole
            return None
        return write_segment(settings, existing, keep_ids, chunked, embedder, progress)

    def check(self, settings: Settings) -> CheckResult:
        """Files, counts, vectors and spans of the live generation."""
        from .integrity import check_index

        return check_index(settings.index)

    def check_folder(self, root: Path) -> None:
        """Refuse a non-empty folder that holds no index."""
        from .generations import check_index_folder

        check_index_folder(root)


class _Milvus:
    """Collections in a Milvus Lite file or on a Milvus server; the index folder holds only the writer lock."""

    def open(self, settings: Settings) -> PassageStore:
        """The live generation of collections."""
        from .milvus.store import MilvusStore

        return MilvusStore.open(settings)

    def open_for_update(self, settings: Settings, rebuild: bool) -> PassageStore | None:
        """The live index tidied after a killed write, unless rebuilding or there is none."""
        from .milvus.writer import open_for_update

        return open_for_update(settings, rebuild)

    def write(self, settings: Settings, content: IndexContent, manifest: dict[str, Any]) -> None:
        """A new generation of collections, made live by one manifest upsert."""
        from .milvus.writer import write_full

        write_full(settings, content, manifest)

    def write_change(self, settings: Settings, existing: PassageStore, keep_ids: list[int], chunked: Chunked,
                     embedder: Embedder | None, progress: bool) -> tuple[int, dict[str, int]] | None:
        """Always in place: the documents not kept deleted, the new ones added, one commit."""
        from .milvus.writer import update

        embedded = update(existing, keep_ids, chunked, embedder, progress)
        return embedded, existing.manifest["counts"]

    def check(self, settings: Settings) -> CheckResult:
        """Reachable, a live manifest, and the counts it states."""
        from .integrity import check_milvus

        return check_milvus(settings)

    def check_folder(self, root: Path) -> None:
        """Nothing to refuse: the folder holds only the lock (and by default the Lite file)."""


_BACKENDS = {"embedded": _Embedded(), "milvus": _Milvus()}


def _backend(settings: Settings) -> _Embedded | _Milvus:
    """The backend the settings name."""
    backend = _BACKENDS.get(settings.store.backend)
    if backend is None:  # settings validate this; a hand-built Settings may not
        raise ConfigError(f"unknown store backend {settings.store.backend!r}: use embedded or milvus "
                          "(RAG_STORE__BACKEND)")
    return backend


def open_store(settings: Settings) -> PassageStore:
    """The store the settings name, opened for reading; IndexNotFoundError when it holds no index."""
    return _backend(settings).open(settings)


def open_for_update(settings: Settings, rebuild: bool = False) -> PassageStore | None:
    """The live index a write starts from (tidied after a killed write), or None for a first build or a rebuild.
    Call it under the writer lock (build.py)."""
    return _backend(settings).open_for_update(settings, rebuild)


def write_change(settings: Settings, existing: PassageStore, keep_ids: list[int], chunked: Chunked,
                 embedder: Embedder | None, progress: bool) -> tuple[int, dict[str, int]] | None:
    """Write only the change to `existing` (documents kept by id, new ones embedded) where the backend allows it:
    Milvus always (delete and add, one commit), the embedded index as a delta segment beside a large base.
    (passages embedded, new counts), or None when the whole index must be written again (`write_store`)."""
    return _backend(settings).write_change(settings, existing, keep_ids, chunked, embedder, progress)


def write_store(settings: Settings, content: IndexContent, manifest: dict[str, Any]) -> None:
    """Write a whole index (first build or rebuild) to the configured backend and make it live atomically."""
    _backend(settings).write(settings, content, manifest)


def check_store(settings: Settings) -> CheckResult:
    """Every problem of the configured store (`rag check`), listed rather than raised; documents flagged as holding
    text written to steer the assistant are noted (they are not damage)."""
    result = _backend(settings).check(settings)
    if result.ok:
        from ..guard.flags import describe

        result.notes += [f"{row.source}: flagged, holds text written to steer the assistant ({describe(row.flags)}); "
                         "kept out of answers, `rag docs --flagged` shows it" for row in open_store(settings).documents()
                         if row.flags]
    return result


def check_write_folder(settings: Settings) -> None:
    """Refuse a write into an index folder that is not the backend's (a non-empty folder holding no index)."""
    _backend(settings).check_folder(Path(settings.index))

