"""The Milvus backend's write side: whole generations for first builds and rebuilds, in-place updates after.

Crash safety without transactions: every row carries the `batch` of the write that added it, and the
one-row manifest in P_meta says which batches are live (`committed`) and which documents are deleted
but not yet purged (`tombstones`). An update inserts its rows as batch committed+1 (invisible), then
upserts the manifest (one row: the commit point), then purges the replaced documents. A writer killed
before the commit leaves invisible rows, one killed after leaves tombstoned rows; the next writer
removes either (`recover`). A rebuild fills a new generation of collections and flips the manifest to it.
The writer lock is build.py's, in the local index folder: writers on several machines need one host.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ...config import Settings
from ...errors import RagError
from ...types import Chunk, Document
from .store import (MAX_VARCHAR, MILVUS_FORMAT, ORIGINAL, PASSAGE_TEXT, PIECE_CHARS, MilvusStore, connect,
                           names, read_manifest)

if TYPE_CHECKING:
    import numpy as np

    from ..embed import Embedder
    from ..rows import IndexContent

INSERT_ROWS = 1_000  # rows per insert request (keeps each gRPC message well under its size limit)
MAX_TOMBSTONES = 4_000  # document ids one manifest row can list


def open_for_update(settings: Settings, rebuild: bool) -> MilvusStore | None:
    """The live Milvus index, tidied after any killed write; None for a first build or a rebuild."""
    if rebuild or read_manifest(connect(settings), settings.store.collection) is None:
        return None
    store = MilvusStore.open(settings)
    recover(store)
    return store


def recover(store: MilvusStore) -> None:
    """Remove what a killed writer left: rows of an uncommitted batch, and documents tombstoned but not purged."""
    for name in store.names.values():
        store.client.delete(name, filter=f"batch > {int(store.manifest['committed'])}")
    if store.manifest.get("tombstones"):
        purge(store)


def write_full(settings: Settings, content: IndexContent, manifest: dict[str, Any]) -> None:
    """Write a whole new generation of collections, make it live with one manifest upsert, drop the old ones."""
    client = connect(settings)
    prefix = settings.store.collection
    generation = f"g{time.strftime('%Y%m%d%H%M%S')}{uuid.uuid4().hex[:6]}"
    collections = names(prefix, generation)
    dim = int(manifest["dim"])
    try:
        _create(client, collections, dim)
        rows = _rows(content.documents, [(c.doc_id, c) for c in content.chunks], content.vectors, 0, 0, batch=1)
        _insert(client, collections, rows)
        counts = {"documents": len(content.documents), "chunks": len(content.chunks)}
        _set_manifest(client, prefix, {**manifest, "format": MILVUS_FORMAT, "generation": generation, "committed": 1,
                                       "tombstones": [], "next_doc": counts["documents"],
                                       "next_chunk": counts["chunks"], "counts": counts})
    except BaseException:  # includes KeyboardInterrupt: the previous generation stays live
        _drop(client, collections.values())
        raise
    older = [c for c in client.list_collections() if c.startswith(f"{prefix}_g") and c not in collections.values()]
    _drop(client, older)  # the previous generation, and any a killed rebuild left


def update(store: MilvusStore, keep_ids: list[int], chunked: list[tuple[Document, list[Chunk]]], embedder: Embedder,
           progress: bool) -> int:
    """Delete the documents not kept, add the new ones, commit once; returns the passages embedded."""
    import numpy as np

    manifest = dict(store.manifest)
    live = {doc_id for doc_id, _ in store.document_ids_by_key().values()}
    gone = sorted(live - set(keep_ids))
    gone_chunks = sum(int(r["chunks"]) for r in store.query("documents", f"id in {gone}", ["chunks"])) if gone else 0
    batch = int(manifest["committed"]) + 1
    pairs = [(n, chunk) for n, (_, chunks) in enumerate(chunked) for chunk in chunks]
    vectors = _embed([c.text for _, c in pairs], embedder, progress) if pairs else np.zeros((0, 1), dtype="float32")
    rows = _rows([d for d, _ in chunked], pairs, vectors, manifest["next_doc"], manifest["next_chunk"], batch)
    _insert(store.client, store.names, rows)
    counts = {"documents": len(live) - len(gone) + len(chunked), "chunks": store.size - gone_chunks + len(pairs)}
    # The manifest is one 64 KiB row: a removal of thousands of documents commits in several steps
    steps = [gone[i : i + MAX_TOMBSTONES] for i in range(0, len(gone), MAX_TOMBSTONES)] or [[]]
    manifest.update(committed=batch, tombstones=steps[0], counts=counts, next_doc=manifest["next_doc"] + len(chunked),
                    next_chunk=manifest["next_chunk"] + len(pairs))
    _set_manifest(store.client, store.prefix, manifest)  # the commit point
    store.manifest = manifest
    purge(store)
    for step in steps[1:]:
        store.manifest = {**store.manifest, "tombstones": step}
        _set_manifest(store.client, store.prefix, store.manifest)
        purge(store)
    return len(pairs)


def purge(store: MilvusStore) -> None:
    """Delete the tombstoned documents' rows for good, then clear the tombstones."""
    gone = [int(i) for i in store.manifest.get("tombstones") or []]
    for name in store.names.values():
        store.client.delete(name, filter=f"doc_id in {gone}")
    for name in store.names.values():
        store.client.flush(name)
    store.manifest = {**store.manifest, "tombstones": []}
    _set_manifest(store.client, store.prefix, store.manifest)


# ---- collections and rows


def _create(client, collections: dict[str, str], dim: int) -> None:
    """Create and load the three collections of a generation."""
    for part, name in collections.items():
        schema, index = _schema(client, part, dim)
        client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
        client.load_collection(name)


def _schema(client, part: str, dim: int):
    """(schema, index params) of one collection; passages carry the dense vector and the BM25 function."""
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False)
    index = client.prepare_index_params()
    schema.add_field("id", DataType.INT64, is_primary=True)
    for field in ("doc_id", "batch"):
        schema.add_field(field, DataType.INT64)
    ints = {"passages": ["ordinal", "start", "end", "orig_start", "orig_end"], "documents": ["chars", "chunks"],
            "texts": ["owner", "kind", "piece"]}[part]
    news = ["date_source", "outlet", "url"]
    strings = {"passages": ["source", "title", "date", "original", "wire", *news], "documents": [
        "key", "source", "path", "title", "content_hash", "date", "metadata", *news], "texts": ["text"]}[part]
    for field in ints:
        schema.add_field(field, DataType.INT64)
    for field in strings:
        schema.add_field(field, DataType.VARCHAR, max_length=MAX_VARCHAR)
    if part == "passages":
        schema.add_field("long", DataType.BOOL)
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True,
                         analyzer_params=_analyzer())
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                     output_field_names=["sparse"]))
        index.add_index("vector", index_type="AUTOINDEX", metric_type="IP")
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    else:  # Milvus wants a vector field in every collection
        schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
        index.add_index("unused", index_type="AUTOINDEX", metric_type="L2")
    return schema, index


def _analyzer() -> dict[str, Any]:
    """Lower-cased, bm25s's English stop words out, Snowball-stemmed: the embedded store's settings (lexical.py).

    The stop words are listed (Milvus Lite reads only literal lists); Milvus Lite 3 has no stemmer and
    ignores that filter, so there "exercise" does not match "exercises", while a Milvus server stems.
    """
    from bm25s.stopwords import STOPWORDS_EN

    return {"tokenizer": "standard", "filter": ["lowercase", {"type": "stop", "stop_words": sorted(STOPWORDS_EN)},
                                                {"type": "stemmer", "language": "english"}]}


def _rows(documents: list[Document], pairs: list[tuple[int, Chunk]], vectors: np.ndarray, first_doc: int,
          first_chunk: int, batch: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(collection part, row) for every row, made as they are inserted: documents numbered from first_doc,
    passages ((document position, chunk) pairs) from first_chunk."""
    counts = [0] * len(documents)
    for position, _ in pairs:
        counts[position] += 1
    for n, doc in enumerate(documents):
        doc_id = first_doc + n
        yield "documents", {"id": doc_id, "doc_id": doc_id, "batch": batch, "key": _fit(doc.key),
                            "source": _fit(doc.source), "path": _fit(doc.path), "title": _fit(doc.title),
                            "content_hash": doc.content_hash, "date": doc.date or "",
                            "metadata": _fit(json.dumps(doc.metadata)), "chars": len(doc.original),
                            "chunks": counts[n], "unused": [0.0, 0.0], **_news(doc)}
        yield from (("texts", piece) for piece in _pieces(doc.original, doc_id, doc_id, ORIGINAL, batch))
    for n, ((position, chunk), vector) in enumerate(zip(pairs, vectors)):
        yield from _passage_rows(documents[position], chunk, first_chunk + n, first_doc + position, vector, batch)


def _passage_rows(doc: Document, chunk: Chunk, chunk_id: int, doc_id: int, vector: np.ndarray,
                  batch: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """A passage's row, and the text pieces of a passage too long for its VARCHAR fields."""
    start, end = doc.original_span(chunk.start, chunk.end)
    original = doc.original[start:end]
    long = not (_fits(chunk.text) and _fits(original))
    if long:
        yield from (("texts", piece) for piece in _pieces(chunk.text, chunk_id, doc_id, PASSAGE_TEXT, batch))
    yield "passages", {"id": chunk_id, "doc_id": doc_id, "batch": batch, "ordinal": chunk.ordinal,
                       "start": chunk.start, "end": chunk.end, "orig_start": start, "orig_end": end,
                       "source": _fit(doc.source), "title": _fit(doc.title), "date": doc.date or "",
                       "original": "" if long else original, "long": long, "text": _fit(chunk.text),
                       "vector": vector.tolist(), "wire": str(doc.metadata.get("wire") or ""), **_news(doc)}


def _news(doc: Document) -> dict[str, str]:
    """A document's date provenance, outlet and url ("" when unknown)."""
    return {"date_source": _fit(doc.date_source or "none"), "outlet": _fit(doc.outlet or ""), "url": _fit(doc.url or "")}


def _pieces(text: str, owner: int, doc_id: int, kind: int, batch: int) -> list[dict[str, Any]]:
    """A long text cut into rows of PIECE_CHARS characters; ids made unique from (kind, owner, piece)."""
    count = max(1, -(-len(text) // PIECE_CHARS))
    return [{"id": ((owner * 2 + kind) << 24) + piece, "doc_id": doc_id, "batch": batch, "owner": owner, "kind": kind,
             "piece": piece, "text": text[piece * PIECE_CHARS : (piece + 1) * PIECE_CHARS], "unused": [0.0, 0.0]}
            for piece in range(count)]


def _fits(text: str) -> bool:
    """Whether a text fits a VARCHAR field (a limit in UTF-8 bytes)."""
    return len(text) * 4 <= MAX_VARCHAR or len(text.encode("utf-8", "surrogatepass")) <= MAX_VARCHAR


def _fit(text: str) -> str:
    """The text cut to a VARCHAR field's byte limit (display fields and BM25's input; full texts go in pieces)."""
    return text if _fits(text) else text.encode("utf-8", "surrogatepass")[:MAX_VARCHAR].decode("utf-8", "ignore")


def _insert(client, collections: dict[str, str], rows: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Insert rows INSERT_ROWS at a time per collection as they are made (a 1M-passage build never holds them
    all: as Python lists its vectors alone took >20 GB), then flush, so they are durable before the manifest."""
    pending: dict[str, list[dict[str, Any]]] = {part: [] for part in collections}
    for part, row in rows:
        pending[part].append(row)
        if len(pending[part]) >= INSERT_ROWS:
            client.insert(collections[part], pending[part])
            pending[part] = []
    for part, left in pending.items():
        if left:
            client.insert(collections[part], left)
        client.flush(collections[part])


def _set_manifest(client, prefix: str, manifest: dict[str, Any]) -> None:
    """Upsert the one manifest row (creating P_meta on first use)."""
    from pymilvus import DataType

    meta = f"{prefix}_meta"
    if not client.has_collection(meta):
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("value", DataType.VARCHAR, max_length=MAX_VARCHAR)
        schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
        index = client.prepare_index_params()
        index.add_index("unused", index_type="AUTOINDEX", metric_type="L2")
        client.create_collection(meta, schema=schema, index_params=index, consistency_level="Strong")
        client.load_collection(meta)
    value = json.dumps({**manifest, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "created_by": "rag"})
    if len(value.encode()) > MAX_VARCHAR:  # ids of at most MAX_TOMBSTONES documents keep it far below
        raise RagError(f"the Milvus manifest grew past {MAX_VARCHAR} bytes: rebuild with `rag index PATH --rebuild`")
    client.upsert(meta, [{"id": 0, "value": value, "unused": [0.0, 0.0]}])
    client.flush(meta)


def _drop(client, collections: Iterable[str]) -> None:
    """Drop collections, ignoring those that are not there."""
    for name in collections:
        try:
            if client.has_collection(name):
                client.drop_collection(name)
        except Exception:  # noqa: BLE001 - best effort while cleaning up after a failure
            pass


def _embed(texts: list[str], embedder: Embedder, progress: bool) -> np.ndarray:
    """Embed passages, under a bar counting them when progress is on."""
    import numpy as np

    if not progress:
        return embedder.embed_documents(texts)
    from tqdm import tqdm

    parts = []
    with tqdm(total=len(texts), desc="Embedding", unit="passage", leave=False) as bar:
        for start in range(0, len(texts), 256):
            parts.append(embedder.embed_documents(texts[start : start + 256]))
            bar.update(len(parts[-1]))
    return np.vstack(parts)
