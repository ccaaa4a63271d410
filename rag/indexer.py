"""Build or update an index from files: only new or changed documents are (re-)embedded."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .chunk import chunk_document
from .config import Settings
from .embed import Embedder
from .errors import ConfigError, IngestError
from .store import IndexContent, IndexStore, write_index
from .types import Chunk, Document, Skipped


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
    from .ingest import SUPPORTED_SUFFIXES, iter_files, load_document

    for root in paths:
        if not root.exists():
            raise IngestError(f"{root} does not exist: give a file or folder to index")
    files = [(f, root) for root in paths for f in iter_files([root])]
    for file, root in _progress(files, progress, "Reading"):
        if file.suffix.lower() not in SUPPORTED_SUFFIXES:
            yield Skipped(source=str(file), reason=f"unsupported type {file.suffix or '(none)'}")
            continue
        if known and (same := _unchanged_file(file, known)) is not None:
            yield same
            continue
        item = load_document(file, root=root if root.is_dir() else None, max_file_mb=max_file_mb)
        if isinstance(item, Document):
            item.path = str(file.resolve())
        yield item


def _unchanged_file(file: Path, known: dict[str, tuple[str, str]]) -> Unchanged | None:
    """Unchanged when the file's bytes hash to its indexed content hash."""
    key = str(file.resolve())
    if key not in known:
        return None
    try:
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
    except OSError:
        return None  # load_document reports the problem
    content_hash, source = known[key]
    return Unchanged(source=source, key=key, content_hash=digest) if digest == content_hash else None


def _progress(items: list, enabled: bool, label: str) -> Iterable:
    """Wrap a list in a tqdm bar when enabled."""
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="file", leave=False)


def index_paths(paths: list[Path], settings: Settings, embedder: Embedder, prune: bool = False,
                rebuild: bool = False, progress: bool = False) -> IndexReport:
    """Index files/folders into `settings.index`; deleted files under these folders are removed."""
    existing = _open_existing(settings.index, embedder, settings, rebuild)
    known = {d["path"]: (d["content_hash"], d["source"]) for d in existing.documents() if d["path"]} if existing else {}
    items = read_files(paths, settings.max_file_mb, progress, known)
    roots = [str(p.resolve()) for p in paths if p.is_dir()]
    return update_index(settings, items, embedder, roots=roots, prune=prune, rebuild=rebuild, progress=progress)


def update_index(settings: Settings, items: Iterable[Document | Skipped | Unchanged], embedder: Embedder,
                 roots: list[str] = (), prune: bool = False, rebuild: bool = False,
                 progress: bool = False) -> IndexReport:
    """Merge documents into the index, embedding only what is new or changed, then write atomically."""
    started = time.perf_counter()
    report = IndexReport()
    existing = _open_existing(settings.index, embedder, settings, rebuild)
    known = existing.document_ids_by_key() if existing else {}
    fresh: dict[str, Document] = {}
    keep_ids: list[int] = []
    for item in items:
        if isinstance(item, Skipped):
            report.skipped.append(item)
        elif item.key in fresh:
            report.skipped.append(Skipped(item.source, "duplicate of a document already read in this run"))
        elif item.key in known and known[item.key][1] == item.content_hash:
            report.unchanged.append(item.source)
            keep_ids.append(known[item.key][0])
            fresh[item.key] = item  # marks the key as seen; reused from the index below
        elif isinstance(item, Unchanged):  # the index changed since the file was checked
            report.skipped.append(Skipped(item.source, "changed in the index while reading: run `rag index` again"))
        else:
            (report.updated if item.key in known else report.added).append(item.source)
            fresh[item.key] = item
    new_docs = [d for k, d in fresh.items() if not (k in known and known[k][1] == d.content_hash)]
    keep_ids += _untouched_ids(existing, known, fresh, roots, prune, report)
    if existing is None and not new_docs:
        reasons = "; ".join(f"{s.source}: {s.reason}" for s in report.skipped[:3])
        raise IngestError("no documents to index" + (f" ({reasons})" if reasons else "") +
                          ": give files of type txt, md, html, pdf or docx")
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


def _untouched_ids(existing: IndexStore | None, known: dict[str, tuple[int, str]], seen: dict[str, Document],
                   roots: list[str], prune: bool, report: IndexReport) -> list[int]:
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
