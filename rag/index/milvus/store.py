"""The Milvus backend's read side: the PassageStore protocol over a Milvus Lite file or a Milvus server.

One pymilvus `MilvusClient` serves both: `RAG_STORE__URI` is a Lite file path (one machine, one process
at a time) or `http://host:19530`. Collections, for a prefix P (setting store.collection):
    P_meta                      one row: the live manifest (JSON), like CURRENT + manifest.json
    P_<gen>_passages            id, doc_id, batch, offsets, source/title/date, text (BM25-analysed),
                                the original slice, the dense vector and Milvus's own BM25 sparse vector
    P_<gen>_documents           one row per document (key, source, path, hash, date, counts)
    P_<gen>_texts               each document's original text in pieces (a VARCHAR holds 64 KiB at most),
                                and the text of any passage too long for its row
Rows carry the write `batch` that added them; readers see only batches up to the manifest's `committed`
and no document listed in its `tombstones`, so a write becomes visible all at once (milvus_writer.py).
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...config import Settings
from ...errors import ConfigError, IndexNotFoundError, RagError, first_line
from ...types import Chunk, Document, DocumentRow, Passage
from ..models import ManifestFacts
from ..rows import document_row, metadata_of, passage_flags, passage_news

if TYPE_CHECKING:
    import numpy as np

MILVUS_FORMAT = 1
PIECE_CHARS = 16_000  # 4 bytes a character at most: a piece always fits a 65,535-byte VARCHAR
MAX_VARCHAR = 65_535
PAGE = 4_000  # rows per query page (Milvus caps one query's result)
ORIGINAL, PASSAGE_TEXT = 0, 1  # kinds of text pieces: a document's original, a passage's text (owner: chunk id)
DOCUMENT_ROW_FIELDS = ("id", "source", "path", "title", "date", "content_hash", "chunks", "chars", "date_source",
                       "outlet", "url", "metadata")  # rows.document_row's arguments, in order
_clients: dict[tuple[str, str], Any] = {}


def milvus_uri(settings: Settings) -> str:
    """The configured URI; by default a Milvus Lite file inside the index folder."""
    uri = settings.store.uri or str(Path(settings.index) / "milvus.db")
    if "://" not in uri:
        if not uri.endswith(".db"):  # pymilvus takes only *.db paths for Milvus Lite
            raise ConfigError(f"RAG_STORE__URI={uri!r}: give a Milvus Lite file ending in .db, or http://host:19530")
        Path(uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
        uri = str(Path(uri).expanduser().resolve())
    return uri


def connect(settings: Settings):
    """A MilvusClient for the settings (one per URI and process: a Lite file admits one process)."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise ConfigError("the Milvus backend needs pymilvus and milvus-lite: pip install 'rag[scale]' "
                          "(or set RAG_STORE__BACKEND=embedded)") from None
    uri, token = milvus_uri(settings), settings.store.token or ""
    if (uri, token) not in _clients:
        try:
            _clients[(uri, token)] = MilvusClient(uri=uri, token=token)
        except Exception as error:  # noqa: BLE001 - pymilvus raises its own and gRPC errors
            hint = ("another process has this Milvus Lite file open (Lite admits one process): stop it, or use a "
                    "Milvus server" if "://" not in uri else "is the server running? (RAG_STORE__URI)")
            raise RagError(f"cannot open Milvus at {uri}: {first_line(error)}; {hint}") from None
    return _clients[(uri, token)]


def disconnect(settings: Settings) -> None:
    """Close this process's client for the settings' URI (a Milvus Lite file's server stops with it)."""
    uri = milvus_uri(settings)
    client = _clients.pop((uri, settings.store.token or ""), None)
    if client is not None:
        client.close()
    if "://" not in uri:  # the Lite server runs in this process and holds the file until released
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(uri)


def names(prefix: str, generation: str) -> dict[str, str]:
    """Collection names of one generation."""
    return {part: f"{prefix}_{generation}_{part}" for part in ("passages", "documents", "texts")}


def read_manifest(client, prefix: str) -> dict[str, Any] | None:
    """The live manifest from P_meta, or None when there is no index."""
    meta = f"{prefix}_meta"
    if not client.has_collection(meta):
        return None
    client.load_collection(meta)
    rows = client.query(meta, filter="id == 0", output_fields=["value"])
    return json.loads(rows[0]["value"]) if rows else None


def visible(manifest: dict[str, Any], extra: str = "") -> str:
    """Filter expression for rows of committed writes not deleted since (plus `extra`)."""
    parts = [f"batch <= {int(manifest['committed'])}"]
    if manifest.get("tombstones"):
        parts.append(f"doc_id not in {[int(i) for i in manifest['tombstones']]}")
    if extra:
        parts.append(f"({extra})")
    return " and ".join(parts)


class MilvusStore(ManifestFacts):
    """Read access to the live generation in Milvus (PassageStore); writes go through milvus_writer."""

    def __init__(self, settings: Settings, client, manifest: dict[str, Any]):
        self.settings = settings
        self.client = client
        self.prefix = settings.store.collection
        self.root = milvus_uri(settings)
        self.manifest = manifest
        self.names = names(self.prefix, manifest["generation"])
        self._vectors: dict[int, list[float]] = {}
        for name in self.names.values():
            client.load_collection(name)

    @classmethod
    def open(cls, settings: Settings) -> MilvusStore:
        """The live index; one-line errors when there is none or it is of another format."""
        client = connect(settings)
        manifest = read_manifest(client, settings.store.collection)
        if manifest is None:
            raise IndexNotFoundError(f"no index in Milvus at {milvus_uri(settings)} (collections "
                                     f"{settings.store.collection}_*): build one with `rag index PATH`")
        if manifest.get("format") != MILVUS_FORMAT:
            raise ConfigError(f"the Milvus index has format {manifest.get('format')}, this rag reads {MILVUS_FORMAT}: "
                              "rebuild it with `rag index PATH --rebuild`")
        return cls(settings, client, manifest)

    def close(self) -> None:
        """Nothing to give back: the client stays open for the process (a Lite file admits one process)."""

    def __enter__(self) -> MilvusStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def is_current(self) -> bool:
        """Whether no write has been committed since this store opened."""
        live = read_manifest(self.client, self.prefix) or {}
        return (live.get("generation"), live.get("committed"), live.get("tombstones")) == (
            self.manifest["generation"], self.manifest["committed"], self.manifest.get("tombstones"))

    @property
    def described(self) -> str:
        """How error messages name this store."""
        return f"the Milvus index at {self.root}"

    @property
    def generation(self) -> str:
        """The name of the generation (set of collections) this store reads."""
        return str(self.manifest["generation"])

    # ---- searches

    def dense_search(self, query_vector: np.ndarray, k: int,
                     allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """Top-k (passage id, inner product = cosine of unit vectors)."""
        import numpy as np

        vector = np.asarray(query_vector, dtype="float32").ravel().tolist()
        return self._search(vector, "vector", k, allowed, lambda d: float(d), ["id", "vector"])

    def lexical_search(self, query: str, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """Top-k (passage id, BM25 score) by Milvus's built-in BM25 function."""
        if not query.strip():
            return []
        # Milvus Lite reports BM25 as a negated distance, a server as the score: BM25 is never negative
        return self._search(query, "sparse", k, allowed, lambda d: abs(float(d)))

    def lexical_scores(self, query: str, ids: list[int]) -> dict[int, float]:
        """BM25 scores of the given passages (0 for those sharing no word with the query)."""
        found = dict(self.lexical_search(query, len(ids), set(ids))) if ids else {}
        return {i: found.get(i, 0.0) for i in ids}

    def _search(self, data: Any, field: str, k: int, allowed: set[int] | None, score,
                fields: tuple[str, ...] | list[str] = ("id",)) -> list[tuple[int, float]]:
        """One search of a vector field among visible (and allowed) passages, best first, ties by id."""
        if k <= 0 or self.size == 0 or (allowed is not None and not allowed):
            return []
        extra = f"id in {sorted(int(i) for i in allowed)}" if allowed is not None else ""
        limit = min(k, self.size, 16_384)  # Milvus's top-k ceiling
        result = self.client.search(self.names["passages"], data=[data], anns_field=field, limit=limit,
                                    filter=visible(self.manifest, extra), output_fields=list(fields))
        hits = [(int(hit["id"]), score(hit["distance"])) for hit in result[0]]
        if "vector" in fields:  # kept for the fill-in and near-duplicate steps: one round trip fewer each
            self._remember({int(hit["id"]): hit["entity"]["vector"] for hit in result[0]})
        return sorted((h for h in hits if field == "vector" or h[1] > 0), key=lambda h: (-h[1], h[0]))

    def vectors_of(self, ids: list[int]) -> np.ndarray:
        """Vectors of the given passages, in order."""
        import numpy as np

        if not ids:
            return np.zeros((0, int(self.manifest["dim"])), dtype="float32")
        vectors = {int(i): self._vectors[int(i)] for i in ids if int(i) in self._vectors}
        missing = sorted({int(i) for i in ids} - set(vectors))
        for start in range(0, len(missing), PAGE):  # a rewrite asks for every kept passage's vector
            rows = self.client.get(self.names["passages"], ids=missing[start : start + PAGE],
                                   output_fields=["id", "vector"])
            vectors.update({int(r["id"]): r["vector"] for r in rows})
        self._remember({i: vectors[i] for i in missing[:20_000] if i in vectors})
        return np.asarray([vectors[int(i)] for i in ids], dtype="float32")

    def _remember(self, vectors: dict[int, list[float]]) -> None:
        """Keep recently seen passage vectors (ids never change meaning: a write gives new ids)."""
        if len(self._vectors) > 20_000:
            self._vectors = {}
        self._vectors.update(vectors)

    # ---- passages and documents

    def passages(self, hits: list[tuple[int, float]]) -> list[Passage]:
        """Passages for (id, score) hits, in the given order, with their original slice for quote checks."""
        if not hits:
            return []
        fields = ["id", "doc_id", "source", "title", "date", "text", "orig_start", "orig_end", "original", "long",
                  "date_source", "outlet", "url", "wire"]
        rows = self.client.get(self.names["passages"], ids=[int(i) for i, _ in hits], output_fields=fields)
        by_id = {int(r["id"]): r for r in rows}
        flags = self._document_flags({int(r["doc_id"]) for r in rows})
        passages = []
        for i, score in hits:
            r = by_id.get(int(i))
            if r is None:
                continue
            text, original = r["text"], r["original"]
            if r["long"]:  # too long for a row (a 64 KiB VARCHAR): both texts are kept in pieces
                text = "".join(self._pieces(int(i), PASSAGE_TEXT))
                original = self._original_slice(r["doc_id"], r["orig_start"], r["orig_end"])
            passages.append(Passage(chunk_id=int(i), source=r["source"], start=r["orig_start"], end=r["orig_end"],
                                    score=score, text=text, title=r["title"], date=r["date"] or None,
                                    doc_id=r["doc_id"], original=original,
                                    **passage_news(r["date_source"], r["outlet"], r["url"], r["wire"]),
                                    flags=passage_flags(flags.get(int(r["doc_id"])), r["orig_start"], r["orig_end"])))
        return passages

    def _document_flags(self, doc_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
        """Flags (rag/guard/flags.py) of the documents `doc_ids` that have any, from their stored metadata."""
        if not doc_ids:
            return {}
        rows = self.query("documents", f"id in {sorted(doc_ids)}", ["id", "metadata"])
        return {int(r["id"]): found for r in rows if (found := metadata_of(r["metadata"]).get("flags"))}

    def _original_slice(self, doc_id: int, start: int, end: int) -> str:
        """original[start:end] of a document, read from the pieces that hold it."""
        first, last = start // PIECE_CHARS, max(start, end - 1) // PIECE_CHARS
        text = "".join(self._pieces(doc_id, ORIGINAL, f"piece >= {first} and piece <= {last}"))
        return text[start - first * PIECE_CHARS : end - first * PIECE_CHARS]

    def _pieces(self, owner: int, kind: int, extra: str = "") -> list[str]:
        """The pieces of a document's original text (ORIGINAL) or of a long passage's text, in order."""
        where = f"owner == {int(owner)} and kind == {kind}" + (f" and {extra}" if extra else "")
        rows = self.query("texts", where, ["piece", "text"])
        return [r["text"] for r in sorted(rows, key=lambda r: r["piece"])]

    def query(self, part: str, extra: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every visible row of a collection matching `extra` (from a server page by page)."""
        if "://" not in self.root:  # Milvus Lite answers in one piece, and has no timestamps for an iterator
            return self.client.query(self.names[part], filter=visible(self.manifest, extra), output_fields=fields)
        iterator = self.client.query_iterator(self.names[part], batch_size=PAGE, filter=visible(self.manifest, extra),
                                              output_fields=fields)
        rows: list[dict[str, Any]] = []
        try:
            while page := iterator.next():
                rows += page
        finally:
            iterator.close()
        return rows

    def chunk_ids_where(self, source_glob: str | None = None, since: str | None = None,
                        until: str | None = None, unflagged: bool = False, not_after: str | None = None) -> set[int]:
        """Passage ids whose document matches a source glob and a date range (undated documents fail a date filter),
        with `unflagged` holds no text flagged as written to steer the assistant, and with `not_after` is undated
        or dated on/before that day."""
        clauses = [f"date >= {_literal(since)}" if since else "", f"date <= {_literal(until)}" if until else ""]
        if since or until:
            clauses.append('date != ""')
        if not_after:
            clauses.append(f'(date == "" or date <= {_literal(not_after)})')
        docs = self.query("documents", " and ".join(c for c in clauses if c), ["id", "source", "path", "metadata"])
        if unflagged:
            docs = [d for d in docs if not metadata_of(d["metadata"]).get("flags")]
        if source_glob:  # SQLite GLOB semantics (case-sensitive, * crosses /), as the embedded store
            docs = [d for d in docs if fnmatch.fnmatchcase(d["source"], source_glob)
                    or fnmatch.fnmatchcase(d["path"], source_glob)]
        if not docs:
            return set()
        rows = self.query("passages", f"doc_id in {sorted(int(d['id']) for d in docs)}", ["id"])
        return {int(r["id"]) for r in rows}

    def documents(self) -> list[DocumentRow]:
        """One summary row per document, by source."""
        rows = self.query("documents", "", list(DOCUMENT_ROW_FIELDS))
        return sorted((document_row(*(r[f] for f in DOCUMENT_ROW_FIELDS)) for r in rows), key=lambda d: d.source)

    def document_original(self, source: str) -> str | None:
        """The original text of the document named `source`, else of the one keyed so."""
        for field in ("source", "key"):
            rows = self.query("documents", f"{field} == {_literal(source)}", ["id"])
            if rows:
                return "".join(self._pieces(rows[0]["id"], ORIGINAL))
        return None

    def load_documents(self, doc_ids: list[int] | None = None) -> list[Document]:
        """Full documents by id (all when `doc_ids` is None), in id order, for a write that carries them over.

        Milvus keeps no cleaned text or offset map: a document comes back with its original as its text (an
        identity map), and its passages (`chunks_of`) span the original, so a rewrite keeps every quote's span."""
        where = f"id in {sorted(int(i) for i in doc_ids)}" if doc_ids is not None else ""
        if doc_ids is not None and not doc_ids:
            return []
        rows = sorted(self.query("documents", where, list(DOCUMENT_ROW_FIELDS)), key=lambda r: r["id"])
        documents = []
        for r in rows:
            original = "".join(self._pieces(int(r["id"]), ORIGINAL))
            row = document_row(*(r[f] for f in DOCUMENT_ROW_FIELDS))
            documents.append(Document(source=r["source"], original=original, text=original,
                                      offset_map=list(range(len(original))), title=row.title,
                                      content_hash=row.content_hash, date=row.date, metadata=metadata_of(r["metadata"]),
                                      path=row.path,
                                      date_source=row.date_source, outlet=row.outlet, url=row.url))
        return documents

    def chunks_of(self, doc_id: int) -> list[Chunk]:
        """A document's passages, in order, spanning its original text (see `load_documents`)."""
        rows = self.query("passages", f"doc_id == {int(doc_id)}", ["id", "doc_id", "ordinal", "text", "orig_start",
                                                                    "orig_end", "long"])
        return [Chunk(id=int(r["id"]), doc_id=int(r["doc_id"]), ordinal=r["ordinal"], start=r["orig_start"],
                      end=r["orig_end"], text="".join(self._pieces(int(r["id"]), PASSAGE_TEXT)) if r["long"] else r["text"])
                for r in sorted(rows, key=lambda r: r["ordinal"])]

    def sources_by_key(self) -> dict[str, str]:
        """key -> source of every document."""
        return {r["key"]: r["source"] for r in self.query("documents", "", ["key", "source"])}

    def document_ids_by_key(self) -> dict[str, tuple[int, str]]:
        """key -> (document id, content hash), for incremental indexing."""
        rows = self.query("documents", "", ["key", "id", "content_hash"])
        return {r["key"]: (int(r["id"]), r["content_hash"]) for r in rows}


def _literal(text: str) -> str:
    """A Milvus filter string literal (double-quoted, backslash escapes)."""
    return json.dumps(text, ensure_ascii=False)
