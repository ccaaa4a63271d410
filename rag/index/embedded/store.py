"""On-disk index: FAISS vectors, SQLite documents/passages, BM25, a JSON manifest; atomic generations.

Layout of an index folder:
    CURRENT            name of the live generation (replaced atomically)
    .rag-writer.lock   the writer lock (lock.py)
    gen-<id>/          manifest.json, meta.sqlite, vectors.npy, vectors.faiss, lexical/, rag-generation.json, lease
A build writes a new generation beside the live one and flips CURRENT last, so a crash
or Ctrl-C mid-build leaves the previous index untouched and usable. Old generations go
once no reader holds them (generations.py).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import IndexFormatError, RagError, first_line
from ...types import Chunk, Document, DocumentRow, Passage
from ..rows import document_row, passage_flags, passage_news
from ..generations import CURRENT, damaged, live_generation, open_generation, read_pointer
from ..models import ManifestFacts
from ..rows import IndexContent
from .writer import FORMAT_VERSION, HNSW_EF_SEARCH, build_faiss, write_index

if TYPE_CHECKING:
    import numpy as np

__all__ = ["CURRENT", "FORMAT_VERSION", "HNSW_EF_SEARCH", "IndexContent", "IndexStore", "build_faiss",
           "live_generation", "write_index"]
REQUIRED_FILES = ("manifest.json", "meta.sqlite", "vectors.npy", "vectors.faiss", "lexical")


class IndexStore(ManifestFacts):
    """Read access to the live generation of an index folder, leased for the store's lifetime.

    Opening checks the manifest and that every file is there and of the right size, so damage is one
    line up front; later read errors become the same one line. `close()` (or garbage collection)
    gives the generation back to the writer.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.folder, self._lease = open_generation(self.root)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._faiss = None
        self._vectors = None
        self._lexical = None
        self._delta = None  # a delta segment beside the base (segments.py), when the manifest names one
        try:
            self.manifest = read_manifest(self.root, self.folder)
            if self.manifest.get("segments"):
                from .segments import Delta

                self._delta = Delta(self)
            self._check_files()
        except BaseException:
            self.close()
            raise

    def _check_files(self) -> None:
        """Every file of the generation present; the database opens; one vector per passage."""
        for name in REQUIRED_FILES:
            if not os.path.exists(self.folder / name):
                raise damaged(self.root, f"{self.folder.name}/{name} is missing")
        tables = {r[0] for r in self.sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"documents", "chunks"} <= tables:
            raise damaged(self.root, "meta.sqlite has no documents or chunks table")
        shape, base = tuple(self.vectors.shape), self.base_size
        if shape != (base, int(self.manifest["dim"])):
            raise damaged(self.root, f"vectors.npy holds {shape[0]} vectors, the manifest says {base}")

    def close(self) -> None:
        """Release the generation: close database connections and drop the lease."""
        for conn in self._connections:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        self._connections.clear()
        self._local = threading.local()
        self._vectors = self._faiss = self._lexical = None
        self._lease.release()

    def __enter__(self) -> IndexStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def is_current(self) -> bool:
        """Whether this store still reads the live generation (False once a writer flipped CURRENT)."""
        try:
            return read_pointer(self.root) == self.folder.name
        except RagError:
            return False

    @property
    def described(self) -> str:
        """How error messages name this store."""
        return f"index {self.root}"

    @property
    def generation(self) -> str:
        """The name of the generation this store reads."""
        return self.folder.name

    @property
    def db(self) -> sqlite3.Connection:
        """A read-only SQLite connection per thread (the UI serves several threads)."""
        conn = getattr(self._local, "db", None)
        if conn is None:
            try:
                conn = sqlite3.connect(f"file:{self.folder / 'meta.sqlite'}?mode=ro", uri=True, check_same_thread=False)
            except sqlite3.Error as error:
                raise damaged(self.root, f"meta.sqlite: {error}") from None
            self._local.db = conn
            self._connections.append(conn)
            if self._delta is not None:
                self._delta.attach(conn)
        return conn

    def sql(self, sql: str, args: Any = ()) -> list[tuple]:
        """All rows of a query; a damaged database is the one-line damaged-index error."""
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as error:  # "file is not a database", "database disk image is malformed"
            raise damaged(self.root, f"meta.sqlite: {error}") from None

    @property
    def vectors(self) -> np.ndarray:
        """All passage vectors, memory-mapped."""
        if self._vectors is None:
            import numpy as np

            try:
                self._vectors = np.load(self.folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError, EOFError) as error:  # truncated, zeroed or not an .npy file
                raise damaged(self.root, f"vectors.npy cannot be read: {first_line(error)}") from None
            if self._vectors.ndim != 2:
                raise damaged(self.root, f"vectors.npy has shape {self._vectors.shape}, not passages x dimensions")
        return self._vectors

    @property
    def lexical(self):
        """The BM25 index."""
        if self._lexical is None:
            from .lexical import LexicalIndex

            try:
                self._lexical = LexicalIndex(self.folder, self.base_size)
            except Exception as error:  # bm25s raises json/numpy/OS errors on damaged files
                raise damaged(self.root, f"lexical index cannot be read: {first_line(error)}") from None
        return self._lexical

    def dense_search(self, query_vector: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """Top-k (passage id, cosine similarity); with `allowed`, exact search over that subset."""
        import numpy as np

        if self.size == 0 or k <= 0:
            return []
        query = np.asarray(query_vector, dtype="float32").reshape(1, -1)
        if allowed is not None:
            ids = np.fromiter(sorted(allowed), dtype="int64")
            scores = self.vectors_of(ids) @ query[0]
            order = np.argsort(-scores)[:k]
            return [(int(ids[i]), float(scores[i])) for i in order]
        if self._delta is not None:
            return self._delta.dense_search(query, k)
        scores, ids = self.faiss_index().search(query, min(k, self.size))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def faiss_index(self):
        """The FAISS index, loaded once; queries use one thread (faster per query on small machines)."""
        if self._faiss is None:
            import faiss

            faiss.omp_set_num_threads(1)
            try:
                self._faiss = faiss.read_index(str(self.folder / "vectors.faiss"))
            except RuntimeError as error:  # faiss reports every read problem as RuntimeError
                raise damaged(self.root, f"vectors.faiss cannot be read: {first_line(error)}") from None
            if hasattr(self._faiss, "hnsw"):
                self._faiss.hnsw.efSearch = HNSW_EF_SEARCH
        return self._faiss

    def passages(self, hits: list[tuple[int, float]]) -> list[Passage]:
        """Passages for (id, score) hits, in the given order."""
        if not hits:
            return []
        marks = ",".join("?" * len(hits))
        rows = self.sql(
            # substr counts characters (1-based), like Python's str offsets: the passage's exact original slice
            "SELECT c.id, d.source, c.orig_start, c.orig_end, c.text, d.title, d.date, c.doc_id, "
            "substr(d.original, c.orig_start + 1, c.orig_end - c.orig_start), "
            f"{self._news_columns()}, json_extract(d.metadata, '$.wire'), json_extract(d.metadata, '$.flags') "
            f"FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({marks})",
            [h[0] for h in hits],
        )
        by_id = {r[0]: r for r in rows}
        return [
            Passage(chunk_id=i, source=r[1], start=r[2], end=r[3], score=s, text=r[4], title=r[5] or "", date=r[6],
                    doc_id=r[7], original=r[8], **passage_news(*r[9:13]), flags=passage_flags(r[13], r[2], r[3]))
            for i, s in hits
            if (r := by_id.get(i)) is not None
        ]

    def _news_columns(self) -> str:
        """SQL for date_source, outlet, url of `documents d`: NULLs in an index written before they existed."""
        columns = getattr(self, "_document_columns", None)
        if columns is None:
            columns = self._document_columns = {r[1] for r in self.sql("PRAGMA table_info(documents)")}
        return ", ".join(f"d.{c}" if c in columns else "NULL" for c in ("date_source", "outlet", "url"))

    def chunk_ids_where(self, source_glob: str | None = None, since: str | None = None, until: str | None = None,
                        unflagged: bool = False, not_after: str | None = None) -> set[int]:
        """Passage ids whose document matches a source glob and a date range (undated documents fail a date filter),
        with `unflagged` holds no text flagged as written to steer the assistant, and with `not_after` is undated
        or dated on/before that day."""
        clauses, args = [], []
        if not_after:
            clauses.append("(d.date IS NULL OR d.date = '' OR d.date <= ?)")
            args.append(not_after)
        if unflagged:
            clauses.append("json_extract(d.metadata, '$.flags') IS NULL")
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
        rows = self.sql(f"SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE {where}", args)
        return {r[0] for r in rows}

    def documents(self) -> list[DocumentRow]:
        """One summary row per document, by source."""
        rows = self.sql(
            "SELECT d.id, d.source, d.path, d.title, d.date, d.content_hash, COUNT(c.id), LENGTH(d.original), "
            f"{self._news_columns()}, d.metadata "
            "FROM documents d LEFT JOIN chunks c ON c.doc_id = d.id GROUP BY d.id ORDER BY d.source"
        )
        return [document_row(*r) for r in rows]

    def load_documents(self, doc_ids: list[int] | None = None) -> list[Document]:
        """Full documents (text, offset map) by id, all when `doc_ids` is None."""
        import numpy as np

        sql = ("SELECT d.id, d.source, d.path, d.title, d.content_hash, d.date, d.original, d.text, d.offset_map, "
               f"d.metadata, {self._news_columns()} FROM documents d")
        where, args = "", ()
        if doc_ids is not None and len(doc_ids) <= 900:  # a few (a delta segment's): looked up, not all read
            where, args = f" WHERE d.id IN ({','.join('?' * len(doc_ids))})", tuple(doc_ids)
        rows = self.sql(sql + where + " ORDER BY d.id", args)
        wanted = None if doc_ids is None else set(doc_ids)
        return [
            Document(source=r[1], path=r[2] or "", title=r[3] or "", content_hash=r[4] or "", date=r[5],
                     original=r[6], text=r[7], offset_map=np.frombuffer(r[8], dtype="int32").tolist(),
                     metadata=json.loads(r[9] or "{}"), date_source=r[10] or "none", outlet=r[11], url=r[12])
            for r in rows
            if wanted is None or r[0] in wanted
        ]

    def document_original(self, source: str) -> str | None:
        """The original text of exactly the document named `source` (unique in an index), else of the one keyed so."""
        for column in ("source", "key"):
            rows = self.sql(f"SELECT original FROM documents WHERE {column} = ? LIMIT 1", (source,))
            if rows:
                return rows[0][0]
        return None

    def chunks_of(self, doc_id: int) -> list[Chunk]:
        """A document's passages, in order."""
        rows = self.sql(
            "SELECT id, doc_id, ordinal, text, start, end FROM chunks WHERE doc_id = ? ORDER BY ordinal", (doc_id,)
        )
        return [Chunk(id=r[0], doc_id=r[1], ordinal=r[2], text=r[3], start=r[4], end=r[5]) for r in rows]

    def sources_by_key(self) -> dict[str, str]:
        """key -> source of every document."""
        return dict(self.sql("SELECT key, source FROM documents"))

    def document_ids_by_key(self) -> dict[str, tuple[int, str]]:
        """key -> (document id, content hash), for incremental indexing."""
        return {r[0]: (r[1], r[2]) for r in self.sql("SELECT key, id, content_hash FROM documents")}

    # ---- the PassageStore protocol's lexical and vector access (rag/index/backend.py)

    def lexical_search(self, query: str, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """Top-k (passage id, BM25 score) with a positive score, optionally among `allowed` ids."""
        from .lexical import top_k

        return top_k(self._lexical_all(query), k, allowed) if k > 0 else []

    def lexical_scores(self, query: str, ids: list[int]) -> dict[int, float]:
        """BM25 scores of the given passages (0 for those sharing no word with the query)."""
        scores = self._lexical_all(query)
        return {i: float(scores[i]) for i in ids}

    def _lexical_all(self, query: str):
        """Every passage's BM25 score, kept for the last query of this thread (hybrid search asks twice)."""
        last = getattr(self._local, "lexical_last", None)
        if last is None or last[0] != query:
            scores = self._delta.lexical_scores(query) if self._delta is not None else self.lexical.scores(query)
            last = self._local.lexical_last = (query, scores)
        return last[1]

    def vectors_of(self, ids: list[int]) -> np.ndarray:
        """Vectors of the given passages, in order."""
        if self._delta is not None:
            return self._delta.vectors_of(ids)
        return self.base_rows(ids)

    def base_rows(self, ids: list[int]) -> np.ndarray:
        """Base vectors by row: a few read with pread (mapping them would pull neighbouring pages of the file into
        this process's resident memory, the whole file over time), many through the memory map."""
        import numpy as np

        ids = [int(i) for i in ids]
        vectors = self.vectors
        if len(ids) > 2_000 or not isinstance(vectors, np.memmap):
            return np.asarray(vectors[ids])
        width = vectors.shape[1] * vectors.dtype.itemsize
        out = np.empty((len(ids), vectors.shape[1]), dtype=vectors.dtype)
        with open(self.folder / "vectors.npy", "rb") as fh:
            for n, i in enumerate(ids):
                raw = os.pread(fh.fileno(), width, vectors.offset + i * width) if 0 <= i < len(vectors) else b""
                if len(raw) != width:
                    raise IndexError(f"passage {i} has no vector")
                out[n] = np.frombuffer(raw, dtype=vectors.dtype)
        return out

    @property
    def base_size(self) -> int:
        """Passages of the base segment (all of them, unless a delta segment sits beside it)."""
        segments = self.manifest.get("segments")
        return int(segments["base"]["chunks"]) if segments else self.size


_MANIFEST_KEYS = {"format": int, "embedding_model": str, "dim": int, "counts": dict}


def read_manifest(root: Path, folder: Path) -> dict[str, Any]:
    """The generation's manifest, checked for the keys every reader relies on."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise damaged(root, f"{folder.name}/manifest.json is missing") from None
    except (OSError, ValueError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise damaged(root, f"manifest.json is not readable JSON: {first_line(error)}") from None
    if not isinstance(manifest, dict):
        raise damaged(root, "manifest.json is not a JSON object")
    for key, kind in _MANIFEST_KEYS.items():
        if not isinstance(manifest.get(key), kind):
            raise damaged(root, f"manifest.json lacks {key!r}")
    if manifest["format"] != FORMAT_VERSION:
        raise IndexFormatError(f"index at {root} has format {manifest['format']}, this rag reads {FORMAT_VERSION}: "
                               "rebuild it with `rag index PATH --rebuild`")
    counts = manifest["counts"]
    if not all(isinstance(counts.get(k), int) and counts[k] >= 0 for k in ("documents", "chunks")):
        raise damaged(root, "manifest.json lacks the document and passage counts")
    return manifest

