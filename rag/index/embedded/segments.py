"""Small changes to a large embedded index without rewriting it: a base plus one delta segment.

A generation may hold, beside its base files (meta.sqlite, vectors.npy, vectors.faiss, lexical/), a
`delta/` folder: the documents added or changed since the base was written (meta.sqlite, vectors.npy,
lexical/) and a `tombstones` table of base documents deleted or replaced. A write that changes a few
files makes a new generation as always (temp folder, CURRENT flipped last, readers' leases honoured),
but hard-links the base files from the previous generation instead of writing them, and writes only
the delta (the previous delta's documents that stay, plus the new ones). When the delta outgrows a
share of the base (settings store.segment_max_share), the next write compacts: a full rewrite.

Ids: base passages keep 0..B-1, delta passages are B.. and delta documents follow the base's ids.
Readers see one index: SQLite temp views `documents` and `chunks` join both databases minus tombstones
(so every query of store.py reads both unchanged), dense search merges FAISS over the base (tombstones
excluded by an IDSelector) with exact search over the delta, and BM25 scores of both bm25s indexes are
summed per query word with the IDF each word has over both segments (Lucene's way of scoring across
segments; tombstoned passages still count in document frequencies until compaction, as in Lucene).
"""

from __future__ import annotations

import math
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ...config import Settings
from ...types import Chunk, Document
from ..generations import damaged
from .lexical import LEXICAL_DIR, build_lexical, tokenize

if TYPE_CHECKING:
    import numpy as np

    from ..embed import Embedder
    from .lexical import LexicalIndex



class SegmentedStore(Protocol):
    """What this module needs of an open store.IndexStore (not imported: store.py imports this module)."""

    root: Path
    folder: Path  # the generation's folder
    manifest: dict[str, Any]

    @property
    def lexical(self) -> LexicalIndex: ...

    def sql(self, sql: str, args: Any = ()) -> list[tuple]: ...

    def faiss_index(self) -> Any: ...

    def base_rows(self, ids: list[int]) -> np.ndarray: ...

    def vectors_of(self, ids: list[int]) -> np.ndarray: ...

    def load_documents(self, doc_ids: list[int] | None = None) -> list[Document]: ...

    def chunks_of(self, doc_id: int) -> list[Chunk]: ...

    def close(self) -> None: ...


DELTA = "delta"
BASE_FILES = ("meta.sqlite", "vectors.npy", "vectors.faiss")


# ---- writing


def fits_a_segment(existing: SegmentedStore, settings: Settings, keep_ids: list[int],
                   chunked: list[tuple[Document, list[Chunk]]]) -> bool:
    """Whether this change goes into a delta segment (a large base, a delta still small) rather than a rewrite."""
    base = base_counts(existing.manifest)
    if base["chunks"] < settings.store.segment_min_passages:
        return False
    delta_kept = [i for i in keep_ids if i >= base["doc_end"]]
    kept_chunks = 0
    if delta_kept:  # delta documents that stay are written again with the new delta
        marks = ",".join(map(str, delta_kept))
        kept_chunks = existing.sql(f"SELECT count(*) FROM delta.chunks WHERE doc_id IN ({marks})")[0][0]
    new_chunks = sum(len(chunks) for _, chunks in chunked)
    return kept_chunks + new_chunks <= settings.store.segment_max_share * base["chunks"]


def write_segment(settings: Settings, existing: SegmentedStore, keep_ids: list[int],
                  chunked: list[tuple[Document, list[Chunk]]], embedder: Embedder, progress: bool) -> tuple[int, dict]:
    """Write a generation sharing the base of `existing` with a new delta; (passages embedded, visible counts)."""
    import numpy as np

    from ..rows import IndexContent
    from .writer import write_index

    base = base_counts(existing.manifest)
    delta_ids = [i for i in keep_ids if i >= base["doc_end"]]
    tombstones = sorted(set(range(base["doc_end"])) - {i for i in keep_ids if i < base["doc_end"]})
    documents = existing.load_documents(delta_ids) if delta_ids else []
    chunks: list[Chunk] = []
    rows: list[int] = []
    for position, doc_id in enumerate(delta_ids):  # load_documents keeps id order, as delta_ids is sorted
        for chunk in existing.chunks_of(doc_id):
            rows.append(chunk.id)
            chunks.append(Chunk(doc_id=position, ordinal=chunk.ordinal, text=chunk.text, start=chunk.start,
                                end=chunk.end))
    new_chunks = []
    for doc, doc_chunks in chunked:
        for chunk in doc_chunks:
            chunk.doc_id = len(documents)
        new_chunks += doc_chunks
        documents.append(doc)
    dim = int(existing.manifest["dim"])
    parts = [existing.vectors_of(rows) if rows else np.zeros((0, dim), dtype="float32"),
             embedder.embed_documents([c.text for c in new_chunks], progress) if new_chunks else
             np.zeros((0, dim), dtype="float32")]
    content = IndexContent(documents=documents, chunks=chunks + new_chunks, vectors=np.vstack(parts).astype("float32"))
    visible = {"documents": base["documents"] - len(tombstones) + len(documents),
               "chunks": base["chunks"] - _chunks_of(existing, tombstones) + len(content.chunks)}
    manifest = {key: value for key, value in existing.manifest.items() if key not in ("created", "created_by")}
    manifest.update(counts=visible, segments={"base": base, "delta": {"documents": len(documents),
                                                                    "chunks": len(content.chunks),
                                                                    "tombstones": len(tombstones)}})

    def fill(folder: Path) -> None:
        _link_base(existing.folder, folder)
        _write_delta(folder / DELTA, content, base, tombstones)
        _write_manifest(folder, manifest)

    existing.close()  # give the old generation up, so the write can remove it (its base files live on as links)
    write_index(settings.index, content, manifest, settings.retrieve.hnsw_threshold, settings.write_lock_wait,
                fill=fill)
    return len(new_chunks), visible


def base_counts(manifest: dict[str, Any]) -> dict[str, int]:
    """Documents and passages of the base, and the first id a delta document takes."""
    segments = manifest.get("segments")
    if segments:
        return dict(segments["base"])
    counts = manifest["counts"]
    return {"documents": counts["documents"], "chunks": counts["chunks"], "doc_end": counts["documents"]}


def _chunks_of(store: SegmentedStore, doc_ids: list[int]) -> int:
    """Passages the base holds for these documents."""
    if not doc_ids:
        return 0
    return store.sql(f"SELECT count(*) FROM main.chunks WHERE doc_id IN ({','.join(map(str, doc_ids))})")[0][0]


def _link_base(source: Path, target: Path) -> None:
    """Hard-link the base files of the previous generation (nothing is copied; base files are never changed)."""
    for name in BASE_FILES:
        os.link(source / name, target / name)
    (target / LEXICAL_DIR).mkdir()
    for entry in (source / LEXICAL_DIR).iterdir():
        os.link(entry, target / LEXICAL_DIR / entry.name)


def _write_delta(folder: Path, content, base: dict[str, int], tombstones: list[int]) -> None:
    """The delta's database (ids after the base's), vectors, BM25 index and tombstones."""
    import numpy as np

    from .writer import write_sqlite

    folder.mkdir()
    write_sqlite(folder / "meta.sqlite", content)  # the writer's own schema and rows, numbered from 0 ...
    db = sqlite3.connect(folder / "meta.sqlite")
    try:  # ... then moved past the base's ids (descending order would not matter: the ranges do not overlap)
        db.execute("UPDATE chunks SET id = id + ?, doc_id = doc_id + ?", (base["chunks"], base["doc_end"]))
        db.execute("UPDATE documents SET id = id + ?", (base["doc_end"],))
        db.execute("CREATE TABLE tombstones (doc_id INTEGER PRIMARY KEY)")
        db.executemany("INSERT INTO tombstones VALUES (?)", [(i,) for i in tombstones])
        db.commit()
    finally:
        db.close()
    np.save(folder / "vectors.npy", np.ascontiguousarray(content.vectors, dtype="float32"), allow_pickle=False)
    build_lexical(folder, [c.text for c in content.chunks])


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """The generation's manifest, last (it makes the folder a complete generation)."""
    import time

    from .writer import write_json_synced

    write_json_synced(folder / "manifest.json", {**manifest, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                                  "created_by": "rag"})


# ---- reading


class Delta:
    """The delta segment of an open IndexStore: SQL views over both databases, merged dense and BM25 search."""

    def __init__(self, store: SegmentedStore):
        import numpy as np

        self.store = store
        self.folder = store.folder / DELTA
        self.base = base_counts(store.manifest)
        self.size = int(store.manifest["segments"]["delta"]["chunks"])
        try:
            self.vectors = np.load(self.folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:
            raise damaged(store.root, f"{DELTA}/vectors.npy cannot be read: {error.__class__.__name__}") from None
        self._dead: np.ndarray | None = None
        self._lexical = None

    def attach(self, conn: sqlite3.Connection) -> None:
        """Make `documents` and `chunks` on this connection mean base minus tombstones plus delta."""
        conn.execute(f"ATTACH DATABASE 'file:{self.folder / 'meta.sqlite'}?mode=ro' AS delta")
        for table, key in (("documents", "id"), ("chunks", "doc_id")):
            columns = ", ".join(r[1] for r in conn.execute(f"PRAGMA main.table_info({table})"))
            conn.execute(f"CREATE TEMP VIEW {table} AS SELECT {columns} FROM main.{table} "
                         f"WHERE {key} NOT IN (SELECT doc_id FROM delta.tombstones) "
                         f"UNION ALL SELECT {columns} FROM delta.{table}")

    @property
    def dead(self) -> np.ndarray:
        """Base passage ids of tombstoned documents."""
        import numpy as np

        if self._dead is None:
            rows = self.store.sql("SELECT id FROM main.chunks WHERE doc_id IN (SELECT doc_id FROM delta.tombstones)")
            self._dead = np.asarray(sorted(r[0] for r in rows), dtype="int64")
        return self._dead

    def vectors_of(self, ids: list[int]) -> np.ndarray:
        """Vectors by passage id, from whichever segment holds each."""
        import numpy as np

        ids = np.asarray(list(ids), dtype="int64")
        out = np.empty((len(ids), self.vectors.shape[1]), dtype="float32")
        in_base = ids < self.base["chunks"]
        out[in_base] = self.store.base_rows(ids[in_base].tolist())
        out[~in_base] = self.vectors[ids[~in_base] - self.base["chunks"]]
        return out

    def dense_search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k over the live base passages (FAISS, tombstones excluded) and the delta (exact), merged."""
        import faiss
        import numpy as np

        query = np.asarray(query, dtype="float32").reshape(1, -1)
        index = self.store.faiss_index()
        selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(self.dead)) if len(self.dead) else None
        params = None
        if selector is not None:
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=index.hnsw.efSearch) \
                if hasattr(index, "hnsw") else faiss.SearchParameters(sel=selector)
        hits = []
        if self.base["chunks"]:
            scores, ids = index.search(query, min(k, self.base["chunks"]), params=params)
            hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        if self.size:
            sims = np.asarray(self.vectors) @ query[0]
            best = np.argsort(-sims)[:k]
            hits += [(int(i) + self.base["chunks"], float(sims[i])) for i in best]
        return sorted(hits, key=lambda h: (-h[1], h[0]))[:k]

    def lexical_scores(self, query: str) -> np.ndarray:
        """BM25 of every passage id (base then delta; 0 for tombstoned ones), IDF taken over both segments."""
        import numpy as np

        scores = np.zeros(self.base["chunks"] + self.size, dtype="float32")
        tokens = tokenize([query])[0]
        segments = [(self.store.lexical.bm25, 0, self.base["chunks"]),
                    (self._delta_bm25(), self.base["chunks"], self.size)]
        total = self.base["chunks"] + self.size
        for token in tokens:
            df = [_df(bm25, token) for bm25, _, _ in segments]
            idf = _lucene_idf(sum(df), total)
            for (bm25, offset, n), found in zip(segments, df):
                if found:  # bm25s scored with its own segment's IDF: rescale this word's share to the common one
                    share = np.asarray(bm25.get_scores([token]), dtype="float32")
                    scores[offset : offset + n] += share * (idf / _lucene_idf(found, n))
        scores[self.dead] = 0.0
        return scores

    def _delta_bm25(self):
        """The delta's bm25s index (None when the delta holds no passage)."""
        if self._lexical is None and self.size:
            import bm25s

            self._lexical = bm25s.BM25.load(str(self.folder / LEXICAL_DIR), mmap=False)
        return self._lexical


def _df(bm25, token: str) -> int:
    """Passages of a bm25s index that contain the (stemmed) word."""
    if bm25 is None or token not in bm25.vocab_dict:
        return 0
    column = bm25.vocab_dict[token]
    indptr = bm25.scores["indptr"]
    return int(indptr[column + 1] - indptr[column])


def _lucene_idf(df: int, n: int) -> float:
    """bm25s's default (Lucene) inverse document frequency."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))
