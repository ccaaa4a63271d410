"""On-disk index: FAISS vectors, SQLite documents/passages, BM25, a JSON manifest; atomic generations.

Layout of an index folder:
    CURRENT            name of the live generation (replaced atomically)
    gen-<id>/          manifest.json, meta.sqlite, vectors.npy, vectors.faiss, lexical/
A build writes a new generation beside the live one and flips CURRENT last, so a crash
or Ctrl-C mid-build leaves the previous index untouched and usable.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IndexFormatError, IndexNotFoundError, ModelMismatchError
from ..types import Chunk, Document, Passage

if TYPE_CHECKING:
    import numpy as np

FORMAT_VERSION = 1
CURRENT = "CURRENT"
_SCHEMA = """
CREATE TABLE documents (id INTEGER PRIMARY KEY, key TEXT UNIQUE, source TEXT, path TEXT, title TEXT,
    content_hash TEXT, date TEXT, original TEXT, text TEXT, offset_map BLOB, metadata TEXT);
CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc_id INTEGER REFERENCES documents(id), ordinal INTEGER,
    text TEXT, start INTEGER, end INTEGER, orig_start INTEGER, orig_end INTEGER);
CREATE INDEX chunks_doc ON chunks(doc_id);
"""


@dataclass
class IndexContent:
    """Everything a generation holds: chunk i has doc_id = position in `documents` and vector row i."""

    documents: list[Document]
    chunks: list[Chunk]
    vectors: np.ndarray


def write_index(root: Path, content: IndexContent, manifest: dict[str, Any], hnsw_threshold: int = 100_000) -> Path:
    """Write a new generation and make it live atomically; returns its folder."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        _write_generation(tmp, content, manifest, hnsw_threshold)
        final = root / f"gen-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
        os.rename(tmp, final)
        _point_current(root, final.name)
    except BaseException:  # includes KeyboardInterrupt: never leave half a generation behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_stale_generations(root, keep={final.name})
    return final


def _write_generation(folder: Path, content: IndexContent, manifest: dict[str, Any], hnsw_threshold: int) -> None:
    """Fill a fresh folder with every file of a generation; the manifest goes last."""
    import numpy as np

    from .lexical import build_lexical

    vectors = np.ascontiguousarray(content.vectors, dtype="float32")
    if len(vectors) != len(content.chunks):
        raise ValueError("one vector per chunk is required")
    _write_sqlite(folder / "meta.sqlite", content)
    np.save(folder / "vectors.npy", vectors, allow_pickle=False)
    kind = _write_faiss(folder / "vectors.faiss", vectors, int(manifest["dim"]), hnsw_threshold)
    build_lexical(folder, [c.text for c in content.chunks])
    counts = {"documents": len(content.documents), "chunks": len(content.chunks)}
    full = {"format": FORMAT_VERSION, **manifest, "faiss": kind, "counts": counts,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    _write_json_synced(folder / "manifest.json", full)


def _write_sqlite(path: Path, content: IndexContent) -> None:
    """Documents and passages, with offsets back into each document's original text."""
    import numpy as np

    db = sqlite3.connect(path)
    try:
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [(i, d.key, d.source, d.path, d.title, d.content_hash, d.date, d.original, d.text,
              np.asarray(d.offset_map, dtype="int32").tobytes(), json.dumps(d.metadata))
             for i, d in enumerate(content.documents)],
        )
        rows = []
        for i, c in enumerate(content.chunks):
            orig_start, orig_end = content.documents[c.doc_id].original_span(c.start, c.end)
            rows.append((i, c.doc_id, c.ordinal, c.text, c.start, c.end, orig_start, orig_end))
        db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?)", rows)
        db.commit()
    finally:
        db.close()


# HNSW graph parameters (benchmarks/ann_recall.py measures recall and latency with them).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def build_faiss(vectors: np.ndarray, dim: int, hnsw_threshold: int):
    """(FAISS index holding the vectors, kind): exact inner product up to the threshold, HNSW above."""
    import faiss

    if len(vectors) > hnsw_threshold:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        kind = "hnsw"
    else:
        index = faiss.IndexFlatIP(dim)
        kind = "flat"
    if len(vectors):
        index.add(vectors)
    return index, kind


def _write_faiss(path: Path, vectors: np.ndarray, dim: int, hnsw_threshold: int) -> str:
    """Write the FAISS index for a generation; returns its kind."""
    import faiss

    index, kind = build_faiss(vectors, dim, hnsw_threshold)
    faiss.write_index(index, str(path))
    return kind


def _write_json_synced(path: Path, data: dict[str, Any]) -> None:
    """Write JSON and fsync it, so the manifest exists only complete."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())


def _point_current(root: Path, name: str) -> None:
    """Flip the CURRENT pointer with an atomic rename."""
    tmp = root / f".{CURRENT}.{uuid.uuid4().hex[:6]}"
    tmp.write_text(name + "\n", encoding="utf-8")
    os.replace(tmp, root / CURRENT)


def _remove_stale_generations(root: Path, keep: set[str]) -> None:
    """Delete old generations and leftovers of interrupted builds."""
    for child in root.iterdir():
        if child.is_dir() and child.name not in keep and (child.name.startswith("gen-") or child.name.startswith(".tmp-")):
            shutil.rmtree(child, ignore_errors=True)


def live_generation(root: Path) -> Path:
    """The folder of the live generation, or a one-line error saying how to build one."""
    pointer = root / CURRENT
    if not pointer.is_file():
        raise IndexNotFoundError(f"no index at {root}: build one with `rag index PATH --index {root}`")
    folder = root / pointer.read_text(encoding="utf-8").strip()
    if not (folder / "manifest.json").is_file():
        raise IndexFormatError(f"index at {root} is damaged (missing {folder.name}): rebuild it with `rag index PATH --rebuild`")
    return folder


class IndexStore:
    """Read access to the live generation of an index folder."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.folder = live_generation(self.root)
        self.manifest: dict[str, Any] = json.loads((self.folder / "manifest.json").read_text(encoding="utf-8"))
        if self.manifest.get("format") != FORMAT_VERSION:
            raise IndexFormatError(
                f"index at {root} has format {self.manifest.get('format')}, this rag reads {FORMAT_VERSION}: "
                "rebuild it with `rag index PATH --rebuild`"
            )
        self._local = threading.local()
        self._faiss = None
        self._vectors = None
        self._lexical = None

    @property
    def model_id(self) -> str:
        """Embedding model the index was built with."""
        return str(self.manifest["embedding_model"])

    @property
    def size(self) -> int:
        """Number of passages."""
        return int(self.manifest["counts"]["chunks"])

    def check_model(self, model_id: str, dim: int | None = None) -> None:
        """Refuse to mix vectors of different embedding models."""
        if model_id != self.model_id or (dim is not None and dim != self.manifest["dim"]):
            raise ModelMismatchError(
                f"index {self.root} was built with {self.model_id!r}, not {model_id!r}: "
                f"set RAG_EMBED__MODEL={self.model_id} or rebuild with `rag index PATH --rebuild`"
            )

    @property
    def db(self) -> sqlite3.Connection:
        """A read-only SQLite connection per thread (the UI serves several threads)."""
        conn = getattr(self._local, "db", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.folder / 'meta.sqlite'}?mode=ro", uri=True)
            self._local.db = conn
        return conn

    @property
    def vectors(self) -> np.ndarray:
        """All passage vectors, memory-mapped."""
        if self._vectors is None:
            import numpy as np

            self._vectors = np.load(self.folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
        return self._vectors

    @property
    def lexical(self):
        """The BM25 index."""
        if self._lexical is None:
            from .lexical import LexicalIndex

            self._lexical = LexicalIndex(self.folder, self.size)
        return self._lexical

    def dense_search(self, query_vector: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """Top-k (passage id, cosine similarity); with `allowed`, exact search over that subset."""
        import numpy as np

        if self.size == 0 or k <= 0:
            return []
        query = np.asarray(query_vector, dtype="float32").reshape(1, -1)
        if allowed is not None:
            ids = np.fromiter(sorted(allowed), dtype="int64")
            scores = np.asarray(self.vectors[ids]) @ query[0]
            order = np.argsort(-scores)[:k]
            return [(int(ids[i]), float(scores[i])) for i in order]
        scores, ids = self._faiss_index().search(query, min(k, self.size))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def _faiss_index(self):
        """The FAISS index, loaded once; queries use one thread (faster per query on small machines)."""
        if self._faiss is None:
            import faiss

            faiss.omp_set_num_threads(1)
            self._faiss = faiss.read_index(str(self.folder / "vectors.faiss"))
            if hasattr(self._faiss, "hnsw"):
                self._faiss.hnsw.efSearch = HNSW_EF_SEARCH
        return self._faiss

    def passages(self, hits: list[tuple[int, float]]) -> list[Passage]:
        """Passages for (id, score) hits, in the given order."""
        if not hits:
            return []
        marks = ",".join("?" * len(hits))
        rows = self.db.execute(
            # substr counts characters (1-based), like Python's str offsets: the passage's exact original slice
            "SELECT c.id, d.source, c.orig_start, c.orig_end, c.text, d.title, d.date, c.doc_id, "
            "substr(d.original, c.orig_start + 1, c.orig_end - c.orig_start) "
            f"FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({marks})",
            [h[0] for h in hits],
        ).fetchall()
        by_id = {r[0]: r for r in rows}
        return [
            Passage(chunk_id=i, source=r[1], start=r[2], end=r[3], score=s, text=r[4], title=r[5] or "", date=r[6],
                    doc_id=r[7], original=r[8])
            for i, s in hits
            if (r := by_id.get(i)) is not None
        ]

    def chunk_ids_where(self, source_glob: str | None = None, since: str | None = None, until: str | None = None) -> set[int]:
        """Passage ids whose document matches a source glob and a date range (undated documents fail a date filter)."""
        clauses, args = [], []
        if source_glob:
            clauses.append("(d.source GLOB ? OR d.path GLOB ?)")
            args += [source_glob, source_glob]
        if since:
            clauses.append("d.date >= ?")
            args.append(since)
        if until:
            clauses.append("d.date <= ?")
            args.append(until)
        where = " AND ".join(clauses) or "1"
        rows = self.db.execute(f"SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE {where}", args)
        return {r[0] for r in rows}

    def documents(self) -> list[dict[str, Any]]:
        """One summary row per document."""
        rows = self.db.execute(
            "SELECT d.id, d.source, d.path, d.title, d.date, d.content_hash, COUNT(c.id), LENGTH(d.original) "
            "FROM documents d LEFT JOIN chunks c ON c.doc_id = d.id GROUP BY d.id ORDER BY d.source"
        ).fetchall()
        keys = ["id", "source", "path", "title", "date", "content_hash", "chunks", "chars"]
        return [dict(zip(keys, r)) for r in rows]

    def load_documents(self, doc_ids: list[int] | None = None) -> list[Document]:
        """Full documents (text, offset map) by id, all when `doc_ids` is None."""
        import numpy as np

        sql = "SELECT id, source, path, title, content_hash, date, original, text, offset_map, metadata FROM documents"
        rows = self.db.execute(sql + " ORDER BY id").fetchall()
        wanted = None if doc_ids is None else set(doc_ids)
        return [
            Document(source=r[1], path=r[2] or "", title=r[3] or "", content_hash=r[4] or "", date=r[5],
                     original=r[6], text=r[7], offset_map=np.frombuffer(r[8], dtype="int32").tolist(),
                     metadata=json.loads(r[9] or "{}"))
            for r in rows
            if wanted is None or r[0] in wanted
        ]

    def document_original(self, source: str) -> str | None:
        """The original text of a document by source name (what quotes are verified against)."""
        row = self.db.execute("SELECT original FROM documents WHERE source = ? OR key = ? LIMIT 1", (source, source)).fetchone()
        return row[0] if row else None

    def chunks_of(self, doc_id: int) -> list[Chunk]:
        """A document's passages, in order."""
        rows = self.db.execute(
            "SELECT id, doc_id, ordinal, text, start, end FROM chunks WHERE doc_id = ? ORDER BY ordinal", (doc_id,)
        ).fetchall()
        return [Chunk(id=r[0], doc_id=r[1], ordinal=r[2], text=r[3], start=r[4], end=r[5]) for r in rows]

    def document_ids_by_key(self) -> dict[str, tuple[int, str]]:
        """key -> (document id, content hash), for incremental indexing."""
        return {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT key, id, content_hash FROM documents")}
