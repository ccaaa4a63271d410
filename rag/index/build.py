"""Build or update an index from files: only new or changed documents are (re-)embedded."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .chunk import chunk_document
from ..config import Settings
from .embed import Embedder
from ..errors import ConfigError, IngestError
from ..ingest.readers import SUPPORTED_NAMES, iter_files, load_document, unsupported_reason
from .store import IndexContent, IndexStore, write_index
from ..types import Chunk, Document, Skipped


@dataclass
class IndexReport:
    """What an indexing run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    documents: int = 0
    chunks: int = 0
    embedded_chunks: int = 0
    seconds: float = 0.0
    seen: set[str] = field(default_factory=set, repr=False)  # keys of unchanged documents read this run

    @property
    def changed(self) -> bool:
        """Whether the index content differs from before the run."""
        return bool(self.added or self.updated or self.removed)


@dataclass
class Unchanged:
    """A file whose bytes hash to what the index holds for it: not read into a Document again."""

    source: str
    key: str
    content_hash: str


def read_files(paths: list[Path], max_file_mb: int = 100, progress: bool = False,
               known: dict[str, tuple[str, str]] | None = None) -> Iterator[Document | Skipped | Unchanged]:
    """Ingest files and folders; documents carry their absolute path as identity.

    `known` maps indexed file paths to (content hash, source): files whose bytes still hash the
    same come back as Unchanged without text extraction (the slow part for PDFs).
    """
    for root in paths:
        if not root.exists():
            raise IngestError(f"{root} does not exist: give a file or folder to index")
    files = [(f, root) for root in paths for f in iter_files([root])]
    for file, root in _progress(files, progress, "Reading"):
        if reason := unsupported_reason(file):
            yield Skipped(source=str(file), reason=reason)
            continue
        data, digest = _known_bytes(file, known, max_file_mb) if known else (None, None)
        key = str(file.resolve())
        if digest is not None and digest == known[key][0]:
            yield Unchanged(source=known[key][1], key=key, content_hash=digest)
            continue
        item = load_document(file, root=root if root.is_dir() else None, max_file_mb=max_file_mb, data=data)
        if isinstance(item, Document):
            item.path = key
        yield item


def _known_bytes(file: Path, known: dict[str, tuple[str, str]], max_file_mb: int) -> tuple[bytes | None, str | None]:
    """(bytes, sha256) of an already-indexed file, read once and reused for extraction if it changed."""
    if str(file.resolve()) not in known:
        return None, None
    try:
        if file.stat().st_size > max_file_mb * 1024 * 1024:
            return None, None  # load_document reports it as too large
        data = file.read_bytes()
    except OSError:
        return None, None  # load_document reports the problem
    return data, hashlib.sha256(data).hexdigest()


def _progress(items: list, enabled: bool, label: str) -> Iterable:
    """Wrap a list in a tqdm bar when enabled."""
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="file", leave=False)


def index_paths(paths: Sequence[str | Path], settings: Settings, embedder: Embedder | None = None, prune: bool = False,
                rebuild: bool = False, progress: bool = False) -> IndexReport:
    """Index files/folders into `settings.index`; deleted files under these folders are removed."""
    paths = [Path(p) for p in paths]
    if embedder is None:
        from .embed import get_embedder

        embedder = get_embedder(settings.embed.model, settings.embed.batch_size, settings.embed.device)
    existing = _open_existing(settings.index, embedder, settings, rebuild)
    known = {d["path"]: (d["content_hash"], d["source"]) for d in existing.documents() if d["path"]} if existing else {}
    items = read_files(paths, settings.max_file_mb, progress, known)
    roots = [str(p.resolve()) for p in paths if p.is_dir()]
    return _merge(settings, items, embedder, existing, roots, prune, rebuild, progress)


def update_index(settings: Settings, items: Iterable[Document | Skipped | Unchanged], embedder: Embedder,
                 roots: Sequence[str] = (), prune: bool = False, rebuild: bool = False,
                 progress: bool = False) -> IndexReport:
    """Merge documents into the index, embedding only what is new or changed, then write atomically."""
    existing = _open_existing(settings.index, embedder, settings, rebuild)
    return _merge(settings, items, embedder, existing, roots, prune, rebuild, progress)


def _merge(settings: Settings, items: Iterable[Document | Skipped | Unchanged], embedder: Embedder,
           existing: IndexStore | None, roots: Sequence[str], prune: bool, rebuild: bool, progress: bool) -> IndexReport:
    """update_index on an already opened index (or None for a first build)."""
    started = time.perf_counter()
    report = IndexReport()
    known = existing.document_ids_by_key() if existing else {}
    new_docs, keep_ids = _triage(items, known, report)
    keep_ids += _untouched_ids(existing, known, {d.key for d in new_docs} | set(report.seen), roots, prune, report)
    if existing is None and not new_docs:
        reasons = "; ".join(f"{s.source}: {s.reason}" for s in report.skipped[:3])
        raise IngestError("no documents to index" + (f" ({reasons})" if reasons else "") +
                          f": give files of type {SUPPORTED_NAMES}")
    if existing and not report.changed and not rebuild:
        _finish(report, existing.manifest["counts"], started)
        return report
    content, report.embedded_chunks = _assemble(existing, sorted(keep_ids), new_docs, embedder, settings, progress)
    dim = existing.manifest["dim"] if existing and not new_docs else embedder.dim
    manifest = {"embedding_model": embedder.model_id, "dim": dim, "normalized": True,
                "chunking": {"size": settings.chunk.size, "overlap": settings.chunk.overlap, "unit": "words"}}
    write_index(settings.index, content, manifest, settings.retrieve.hnsw_threshold)
    _finish(report, {"documents": len(content.documents), "chunks": len(content.chunks)}, started)
    return report


def _triage(items: Iterable[Document | Skipped | Unchanged], known: dict[str, tuple[int, str]],
            report: IndexReport) -> tuple[list[Document], list[int]]:
    """(documents to embed, ids of indexed documents kept as they are), recording each item in the report."""
    new_docs: dict[str, Document] = {}
    keep_ids: list[int] = []
    for item in items:
        if isinstance(item, Skipped):
            report.skipped.append(item)
        elif item.key in new_docs or item.key in report.seen:
            report.skipped.append(Skipped(item.source, "duplicate of a document already read in this run"))
        elif item.key in known and known[item.key][1] == item.content_hash:
            report.unchanged.append(item.source)
            report.seen.add(item.key)
            keep_ids.append(known[item.key][0])
        elif isinstance(item, Unchanged):  # the index changed since the file was checked
            report.skipped.append(Skipped(item.source, "changed in the index while reading: run `rag index` again"))
        else:
            (report.updated if item.key in known else report.added).append(item.source)
            new_docs[item.key] = item
    return list(new_docs.values()), keep_ids


def _open_existing(root: Path, embedder: Embedder, settings: Settings, rebuild: bool) -> IndexStore | None:
    """The current index to update, or None for a first build or a rebuild."""
    if rebuild or not (root / "CURRENT").exists():
        return None
    store = IndexStore(root)
    store.check_model(embedder.model_id)
    chunking = store.manifest.get("chunking", {})
    if (chunking.get("size"), chunking.get("overlap")) != (settings.chunk.size, settings.chunk.overlap):
        # Mixing passage sizes in one index would skew retrieval; rebuilding silently from only the
        # paths given now would drop documents indexed from elsewhere. So the user decides.
        raise ConfigError(
            f"index {root} has {chunking.get('size')}-word passages (overlap {chunking.get('overlap')}), settings ask "
            f"for {settings.chunk.size} ({settings.chunk.overlap}): set RAG_CHUNK__SIZE/RAG_CHUNK__OVERLAP to match "
            "or rebuild with `rag index PATH --rebuild`"
        )
    return store


def _untouched_ids(existing: IndexStore | None, known: dict[str, tuple[int, str]], seen: set[str],
                   roots: Sequence[str], prune: bool, report: IndexReport) -> list[int]:
    """Ids of indexed documents not read this run that stay; files deleted under a root (or all, with prune) go."""
    if existing is None:
        return []
    keep = []
    for key, (doc_id, _) in known.items():
        if key in seen:
            continue
        under_root = any(key.startswith(r.rstrip(os.sep) + os.sep) for r in roots)
        if prune or (under_root and not os.path.exists(key)):
            report.removed.append(key)
        else:
            keep.append(doc_id)
    return keep


def _assemble(existing: IndexStore | None, keep_ids: list[int], new_docs: list[Document], embedder: Embedder,
              settings: Settings, progress: bool) -> tuple[IndexContent, int]:
    """Kept documents with their stored passages and vectors, then new documents chunked and embedded."""
    import numpy as np

    documents: list[Document] = []
    chunks: list[Chunk] = []
    rows: list[int] = []
    if existing is not None:
        for new_id, (old_id, doc) in enumerate(zip(keep_ids, existing.load_documents(keep_ids))):
            documents.append(doc)
            for chunk in existing.chunks_of(old_id):
                rows.append(chunk.id)
                chunks.append(Chunk(doc_id=new_id, ordinal=chunk.ordinal, text=chunk.text, start=chunk.start, end=chunk.end))
    kept_vectors = np.asarray(existing.vectors[rows]) if existing is not None and rows else None
    new_chunks = []
    for doc in new_docs:
        new_chunks += chunk_document(doc, len(documents), settings.chunk.size, settings.chunk.overlap)
        documents.append(doc)
    new_vectors = embedder.embed_documents([c.text for c in new_chunks], progress=progress) if new_chunks else None
    parts = [v for v in (kept_vectors, new_vectors) if v is not None]
    dim = parts[0].shape[1] if parts else (existing.manifest["dim"] if existing else embedder.dim)
    vectors = np.vstack(parts) if parts else np.zeros((0, dim), dtype="float32")
    return IndexContent(documents=documents, chunks=chunks + new_chunks, vectors=vectors), len(new_chunks)


def _finish(report: IndexReport, counts: dict[str, int], started: float) -> None:
    """Fill in totals and timing."""
    report.documents = counts["documents"]
    report.chunks = counts["chunks"]
    report.seconds = time.perf_counter() - started
