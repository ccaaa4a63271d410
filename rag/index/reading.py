"""Reading files for indexing: discovered, vetted, read with a cap, hashed, and extracted only when changed;
then cut into passages within a budget per MB, so a degenerate file never floods the index."""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..errors import IngestError
from ..ingest.files import MB, Unreadable, discover, read_capped
from ..ingest.readers import load_document, source_name, text_name, unsupported_reason
from ..types import Chunk, Document, Skipped
from .chunk import chunk_document

MIN_PASSAGE_BUDGET = 50  # passages any file may make, however small


@dataclass
class Unchanged:
    """A file whose bytes hash to what the index holds for it: not read into a Document again."""

    source: str
    key: str
    content_hash: str


def read_files(paths: list[Path], max_file_mb: int = 100, progress: bool = False,
               known: dict[str, tuple[str, str]] | None = None) -> Iterator[Document | Skipped | Unchanged]:
    """Ingest files and folders; documents carry their resolved path as identity.

    `known` maps indexed file paths to (content hash, source): files whose bytes still hash the
    same come back as Unchanged without text extraction (the slow part for PDFs).
    """
    paths = [Path(p) for p in paths]
    for root in paths:
        if not os.path.lexists(root):
            raise IngestError(f"{root} does not exist: give a file or folder to index")
    bar = progress_bar(list(discover(paths)), progress, "Reading")
    for candidate in bar:
        show_file(bar, source_name(candidate.path, candidate.root))
        yield read_candidate(candidate, max_file_mb, known)


def read_candidate(candidate, max_file_mb: int, known: dict[str, tuple[str, str]] | None) -> Document | Skipped | Unchanged:
    """One discovered file read, hashed and (unless unchanged) extracted; also run by Dask workers (distributed.py)."""
    name = source_name(candidate.path, candidate.root)
    if skip := candidate.skip or unsupported_reason(candidate.path):
        return Skipped(name, skip)
    try:
        data = read_capped(candidate.path, max_file_mb)
    except Unreadable as error:
        return Skipped(name, str(error))
    key = text_name(candidate.real)
    digest = hashlib.sha256(data).hexdigest()
    if known and key in known and known[key][0] == digest:
        return Unchanged(source=known[key][1], key=key, content_hash=digest)
    item = load_document(candidate.path, root=candidate.root, max_file_mb=max_file_mb, data=data)
    if isinstance(item, Document):
        item.path = key
    return item


def progress_bar(items: list, enabled: bool, label: str) -> Iterable:
    """Wrap a list in a tqdm bar counting files when enabled."""
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="file", leave=False)


def show_file(bar: Iterable, name: str) -> None:
    """Name the file being worked on beside a tqdm bar (control characters, e.g. newlines, shown as '?')."""
    if hasattr(bar, "set_postfix_str"):
        bar.set_postfix_str(re.sub(r"[\x00-\x1f\x7f]", "?", name)[-50:])


def passage_budget(doc: Document, per_mb: int) -> int:
    """Most passages a document may make: per MB of its file or of its text, whichever is larger."""
    size = max(int(doc.metadata.get("bytes") or 0), len(doc.text.encode("utf-8", "replace")))
    return max(MIN_PASSAGE_BUDGET, math.ceil(per_mb * size / MB))


def within_budget(docs: list[Document], settings: Settings, skipped: list[Skipped],
                  prepared: dict[str, list[Chunk]] | None = None) -> list[tuple[Document, list[Chunk]]]:
    """Each document with its passages (cut here, or by a Dask worker: `prepared`), in order; a document over
    its passage budget is added to `skipped` instead."""
    chunked: list[tuple[Document, list[Chunk]]] = []
    per_mb = settings.max_passages_per_mb
    for doc in docs:
        chunks = (prepared or {}).get(doc.key) or chunk_document(doc, 0, settings.chunk.size, settings.chunk.overlap)
        budget = passage_budget(doc, per_mb)
        if len(chunks) > budget:
            reason = (f"degenerate text: {len(chunks):,} passages, over the budget of {budget:,} for its size "
                      f"(setting max_passages_per_mb = {per_mb})")
            skipped.append(Skipped(doc.source, reason))
        else:
            chunked.append((doc, chunks))
    return chunked
