"""What both store backends make alike: the content handed to a writer, a document's listing row and a passage's
news fields, from the values each stores ("" or NULL for unknown), so the embedded and Milvus stores cannot drift apart."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..guard.flags import overlapping
from ..types import Chunk, Document, DocumentRow

if TYPE_CHECKING:
    import numpy as np


def document_row(id: int, source: str, path: str | None, title: str | None, date: str | None,
                 content_hash: str | None, chunks: int | None, chars: int | None, date_source: str | None,
                 outlet: str | None, url: str | None, metadata: str | None) -> DocumentRow:
    """A document's listing row from its stored fields: unknown values ("" or NULL) as None, a missing date
    source as "none", the date note and credited wire from the stored metadata JSON."""
    extra = metadata_of(metadata)
    return DocumentRow(id=int(id), source=source, path=path or "", title=title or "", date=date or None,
                       content_hash=content_hash or "", chunks=int(chunks or 0), chars=int(chars or 0),
                       date_source=date_source or "none", outlet=outlet or None, url=url or None,
                       date_note=extra.get("date_note") or None, wire=extra.get("wire") or None,
                       flags=list(extra.get("flags") or []))


def passage_news(date_source: str | None, outlet: str | None, url: str | None, wire: str | None) -> dict[str, Any]:
    """A Passage's news fields from its document's stored ones ("" or NULL for unknown): who first reported it
    is the credited wire agency, else the outlet."""
    outlet = outlet or None
    return {"date_source": date_source or "none", "outlet": outlet, "url": url or None, "origin": wire or outlet}


def passage_flags(stored: str | list | None, start: int, end: int) -> list[dict[str, Any]]:
    """The flags of a document (its stored JSON list) that lie in the passage [start, end) of its file, and those
    without a span, which concern the whole document."""
    if isinstance(stored, str):  # the JSON list itself, as SQLite's json_extract hands it over
        try:
            stored = json.loads(stored)
        except ValueError:
            stored = None
    flags = stored if isinstance(stored, list) else []
    return [f for f in flags if f.get("start") is None] + overlapping(flags, start, end)


def metadata_of(stored: str | None) -> dict[str, Any]:
    """A document's stored metadata JSON as a dict ({} when Milvus cut it short at a field's 64 KiB)."""
    try:
        data = json.loads(stored or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class IndexContent:
    """Everything a generation holds: chunk i has doc_id = position in `documents` and vector row i."""

    documents: list[Document]
    chunks: list[Chunk]
    vectors: np.ndarray
