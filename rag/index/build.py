"""Build or update an index from files: only new or changed documents are (re-)embedded.

A write holds the index's writer lock from opening the old generation to flipping CURRENT, so two
`rag index` runs never lose each other's documents; readers are never blocked. Files are vetted and
read with a cap (rag/ingest/files.py), and a file making more passages than its size allows
(`max_passages_per_mb`) is skipped before anything is embedded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Settings
from ..errors import ConfigError, IndexInterrupted, IngestError, RagError
from ..ingest.readers import SUPPORTED_NAMES, text_name
from ..news.sidecar import read_sidecar
from ..types import Chunk, Document, Skipped
from .backend import PassageStore, check_write_folder, open_for_update, open_store, write_change, write_store
from .embed import Embedder
from .generations import make_root, read_pointer
from .lock import writer_lock
from .reading import Unchanged, passage_budget, read_candidate, read_files, show_file, within_budget
from .sources import claim_sources
from .usermeta import DocumentMeta, load_meta, save_meta
from .rows import IndexContent
from .distributed import PreparedEmbedder

__all__ = ["IndexReport", "Unchanged", "index_paths", "passage_budget", "read_candidate", "read_files",
           "relabel_index", "update_index"]


@dataclass
class IndexReport:
    """What an indexing run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    relabelled: list[str] = field(default_factory=list)  # kept documents whose date/outlet corrections changed
    skipped: list[Skipped] = field(default_factory=list)
    flagged: list[tuple[str, list[dict]]] = field(default_factory=list)  # documents read this run with steering text
    documents: int = 0
    chunks: int = 0
    embedded_chunks: int = 0
    seconds: float = 0.0
    seen: set[str] = field(default_factory=set, repr=False)  # keys of unchanged documents read this run

    @property
    def changed(self) -> bool:
        """Whether the index content differs from before the run."""
        return bool(self.added or self.updated or self.removed or self.relabelled)


@contextmanager
def _writing(settings: Settings) -> Iterator[None]:
    """Hold the index's writer lock; Ctrl-C becomes one line saying the previous index is still live."""
    root = Path(settings.index)
    before = _live_name(root)
    try:
        check_write_folder(settings)
        make_root(root)
        with writer_lock(root, settings.write_lock_wait):
            yield
    except KeyboardInterrupt:
        if _live_name(root) != before:  # interrupted while tidying up, after the new generation went live
            raise IndexInterrupted(f"interrupted: {root} already serves the new index; run `rag index` again "
                                   "to finish tidying up") from None
        live = "the previous index is still live" if before else "no index was written"
        raise IndexInterrupted(f"interrupted: nothing changed in {root}; {live}") from None


def _live_name(root: Path) -> str | None:
    """The generation CURRENT names, or None when there is none (or it cannot be read)."""
    try:
        return read_pointer(root)
    except RagError:
        return None


def index_paths(paths: Sequence[str | Path], settings: Settings, embedder: Embedder | None = None, prune: bool = False,
                rebuild: bool = False, progress: bool = False, meta_file: Path | None = None,
                workers: int | None = None, cluster: str | None = None) -> IndexReport:
    """Index files/folders into `settings.index`; deleted files under these folders are removed.

    `meta_file`: a sidecar (CSV or JSONL) of dates, outlets, urls and titles, kept in the index for later runs.
    `workers` / `cluster`: read, clean, chunk and embed on a Dask LocalCluster of N processes, or on the cluster
    whose scheduler is at `cluster` (tcp://HOST:8786); this process still merges and writes, as without them."""
    paths = [Path(p) for p in paths]
    sidecar = read_sidecar(meta_file) if meta_file else None  # a bad file fails before any work
    with _writing(settings):
        if embedder is None:
            from .embed import embedder_for

            embedder = embedder_for(settings.embed, indexing=True)
        existing = _open_existing(settings.index, embedder, settings, rebuild)
        try:
            known = {d.path: (d.content_hash, d.source) for d in existing.documents() if d.path} if existing else {}
            if workers or cluster:  # the fan-out hands back items in file order, and an embedder holding their vectors
                from .distributed import read_on_cluster  # Dask itself loads only inside it

                items, embedder = read_on_cluster(paths, settings, embedder, known, workers, cluster, progress,
                                                  read_one=read_candidate, budget=passage_budget)
            else:
                items = read_files(paths, settings.max_file_mb, progress, known)
            roots = [text_name(os.path.realpath(p)) for p in paths if p.is_dir()]
            meta = load_meta(settings.index)
            meta.sidecar.update(sidecar or {})
            report = _merge(settings, items, embedder, existing, roots, prune, rebuild, progress, meta)
            if sidecar:
                save_meta(settings.index, meta)
            return report
        finally:
            if existing is not None:
                existing.close()


def update_index(settings: Settings, items: Iterable[Document | Skipped | Unchanged], embedder: Embedder,
                 roots: Sequence[str] = (), prune: bool = False, rebuild: bool = False,
                 progress: bool = False) -> IndexReport:
    """Merge documents into the index, embedding only what is new or changed, then write atomically."""
    with _writing(settings):
        existing = _open_existing(settings.index, embedder, settings, rebuild)
        try:
            return _merge(settings, items, embedder, existing, roots, prune, rebuild, progress)
        finally:
            if existing is not None:
                existing.close()


def relabel_index(settings: Settings, source: str, fields: dict[str, str]) -> IndexReport:
    """Correct one document's date/outlet/url/title (`rag docs --set`): kept for later runs, applied now, nothing
    re-embedded."""
    with _writing(settings):
        existing = open_for_update(settings) or open_store(settings)  # no index: open_store says so, in one line
        try:
            row = next((d for d in existing.documents() if source in (d.source, d.path)), None)
            if row is None:
                raise ConfigError(f"no document {source!r} in {existing.described}: `rag docs` lists the sources")
            meta = load_meta(settings.index)
            meta.user.setdefault(row.path or row.source, {}).update(fields)
            report = _merge(settings, [], None, existing, (), False, False, False, meta)
            save_meta(settings.index, meta)
            return report
        finally:
            existing.close()


def _merge(settings: Settings, items: Iterable[Document | Skipped | Unchanged], embedder: Embedder | None,
           existing: PassageStore | None, roots: Sequence[str], prune: bool, rebuild: bool, progress: bool,
           meta: DocumentMeta | None = None) -> IndexReport:
    """update_index on an already opened index (or None for a first build); `embedder` may be None when nothing
    is embedded (metadata corrections only)."""
    started = time.perf_counter()
    meta = meta if meta is not None else load_meta(settings.index)
    report = IndexReport()
    chunked, keep_ids, previous = _plan(settings, items, embedder, existing, roots, prune, report, meta)
    if existing and not report.changed and not rebuild:
        _finish(report, existing.manifest["counts"], started)
        return report
    counts = _write_in_place(settings, existing, keep_ids, chunked, embedder, progress, report)
    if counts is None:
        counts = _rewrite(settings, existing, keep_ids, chunked, embedder, progress, report, meta, previous)
    _finish(report, counts, started)
    return report


def _plan(settings: Settings, items: Iterable[Document | Skipped | Unchanged], embedder: Embedder | None,
          existing: PassageStore | None, roots: Sequence[str], prune: bool, report: IndexReport,
          meta: DocumentMeta) -> tuple[list, list[int], dict[str, str]]:
    """(new documents with their passages, ids of documents kept as they are, sources by key before the run)."""
    known = existing.document_ids_by_key() if existing else {}
    new_docs, keep_ids = _triage(items, known, report)
    prepared = embedder.prepared_chunks if isinstance(embedder, PreparedEmbedder) else None  # read on Dask workers
    chunked = within_budget(new_docs, settings, report.skipped, prepared)
    new_docs = [doc for doc, _ in chunked]
    keep_ids += _untouched_ids(existing, known, {d.key for d in new_docs} | set(report.seen), roots, prune, report)
    if existing is None and not new_docs:
        reasons = "; ".join(f"{s.source}: {s.reason}" for s in report.skipped[:3])
        raise IngestError("no documents to index" + (f" ({reasons})" if reasons else "") +
                          f": give files of type {SUPPORTED_NAMES}")
    previous = _label(new_docs, existing, known, set(keep_ids), report, meta)
    return chunked, sorted(keep_ids), previous


def _label(new_docs: list[Document], existing: PassageStore | None, known: dict[str, tuple[int, str]], kept: set[int],
           report: IndexReport, meta: DocumentMeta) -> dict[str, str]:
    """Give new documents unique sources and their metadata corrections; note kept ones whose labels change.
    Returns the sources by key before the run."""
    previous = existing.sources_by_key() if existing else {}
    claim_sources(new_docs, {previous[key] for key, (i, _) in known.items() if i in kept}, previous)
    for doc in new_docs:
        (report.updated if doc.key in known else report.added).append(doc.source)
        meta.apply(doc)
    if existing is not None:
        report.relabelled = [d.source for d in existing.documents() if d.id in kept and meta.pending(d)]
    return previous


def _write_in_place(settings: Settings, existing: PassageStore | None, keep_ids: list[int], chunked: list,
                    embedder: Embedder | None, progress: bool, report: IndexReport) -> dict[str, int] | None:
    """Write only the change where the backend allows it (Milvus, or a segment on a large embedded index);
    the new counts, or None when the whole index must be written again (a first build, or relabelled
    documents: they are written again whole, their vectors kept)."""
    if existing is None or report.relabelled:
        return None
    written = write_change(settings, existing, keep_ids, chunked, embedder, progress)
    if written is None:
        return None
    report.embedded_chunks, counts = written
    return counts


def _rewrite(settings: Settings, existing: PassageStore | None, keep_ids: list[int], chunked: list,
             embedder: Embedder | None, progress: bool, report: IndexReport, meta: DocumentMeta,
             previous: dict[str, str]) -> dict[str, int]:
    """A whole new generation: kept documents with their stored vectors plus the new ones embedded."""
    content, report.embedded_chunks = _assemble(existing, keep_ids, chunked, embedder, settings, progress)
    claim_sources(content.documents, set(), previous)  # an index written before sources were unique may repeat one
    for doc in content.documents:
        meta.apply(doc)  # corrections (sidecar, user) over kept documents too
    dim = existing.manifest["dim"] if existing and not chunked else embedder.dim
    model_id = embedder.model_id if embedder is not None else existing.model_id
    if existing is not None:
        existing.close()  # give the old generation up, so the write can remove it
    manifest = {"embedding_model": model_id, "dim": dim, "normalized": True,
                "chunking": {"size": settings.chunk.size, "overlap": settings.chunk.overlap, "unit": "words"}}
    write_store(settings, content, manifest)  # the embedded generation writer, or a new Milvus generation
    return {"documents": len(content.documents), "chunks": len(content.chunks)}


def _triage(items: Iterable[Document | Skipped | Unchanged], known: dict[str, tuple[int, str]],
            report: IndexReport) -> tuple[list[Document], list[int]]:
    """(documents to embed, ids of indexed documents kept as they are), recording unchanged and skipped items."""
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
            new_docs[item.key] = item
            if item.metadata.get("flags"):
                report.flagged.append((item.source, item.metadata["flags"]))
    return list(new_docs.values()), keep_ids


def _open_existing(root: Path, embedder: Embedder, settings: Settings, rebuild: bool) -> PassageStore | None:
    """The current index to update, or None for a first build or a rebuild."""
    store = open_for_update(settings, rebuild)
    if store is None:
        return None
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


def _untouched_ids(existing: PassageStore | None, known: dict[str, tuple[int, str]], seen: set[str],
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


def _assemble(existing: PassageStore | None, keep_ids: list[int], chunked: list[tuple[Document, list[Chunk]]],
              embedder: Embedder, settings: Settings, progress: bool) -> tuple[IndexContent, int]:
    """Kept documents with their stored passages and vectors, then new documents' passages embedded."""
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
    kept_vectors = existing.vectors_of(rows) if existing is not None and rows else None
    new_chunks: list[Chunk] = []
    for doc, doc_chunks in chunked:
        for chunk in doc_chunks:
            chunk.doc_id = len(documents)
        new_chunks += doc_chunks
        documents.append(doc)
    new_vectors = _embed(new_chunks, documents, embedder, progress, settings.embed.batch_size) if new_chunks else None
    parts = [v for v in (kept_vectors, new_vectors) if v is not None]
    dim = parts[0].shape[1] if parts else (existing.manifest["dim"] if existing else embedder.dim)
    vectors = np.vstack(parts) if parts else np.zeros((0, dim), dtype="float32")
    return IndexContent(documents=documents, chunks=chunks + new_chunks, vectors=vectors), len(new_chunks)


def _embed(chunks: list[Chunk], documents: list[Document], embedder: Embedder, progress: bool, batch_size: int):
    """Embed passages; with progress, in slices under a bar that counts passages and names the file."""
    import numpy as np

    if not progress:
        return embedder.embed_documents([c.text for c in chunks])
    from tqdm import tqdm

    step = max(1, batch_size * 4)
    parts = []
    with tqdm(total=len(chunks), desc="Embedding", unit="passage", leave=False) as bar:
        for start in range(0, len(chunks), step):
            piece = chunks[start : start + step]
            show_file(bar, documents[piece[-1].doc_id].source)
            parts.append(embedder.embed_documents([c.text for c in piece]))
            bar.update(len(piece))
    return np.vstack(parts)


def _finish(report: IndexReport, counts: dict[str, int], started: float) -> None:
    """Fill in totals and timing."""
    report.documents = counts["documents"]
    report.chunks = counts["chunks"]
    report.seconds = time.perf_counter() - started
