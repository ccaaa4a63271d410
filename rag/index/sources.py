"""A source is an identity: no two documents in an index share one, so a citation names exactly one file.

Two files with the same relative name (X/report.txt and Y/report.txt indexed together, or an upload
named like an indexed file) would otherwise both be "report.txt". The document already in the index
keeps its name; a newcomer that clashes gets enough of its own path to be told apart.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from ..types import Document


def claim_sources(documents: list[Document], taken: set[str], previous: dict[str, str] | None = None) -> None:
    """Rename, in place, each document whose source is in `taken` (or another's), then add it to `taken`.

    `previous` maps a document key to the source it had in the index: a re-read document keeps it
    when its fresh name clashes, so names stay stable across runs.
    """
    previous = previous or {}
    for doc in documents:
        if doc.source in taken:
            earlier = previous.get(doc.key)
            doc.source = earlier if earlier and earlier not in taken else distinct_source(doc, taken)
        taken.add(doc.source)


def distinct_source(doc: Document, taken: set[str]) -> str:
    """The shortest tail of the document's path that no other document uses; else its full path; else numbered."""
    parts = PurePosixPath(doc.path).parts if doc.path else ()
    shortest = len(PurePosixPath(doc.source).parts) + 1
    for n in range(shortest, len(parts)):
        candidate = "/".join(parts[-n:])
        if candidate not in taken:
            return candidate
    if doc.path and doc.path not in taken:
        return doc.path
    n = 2
    while f"{doc.source} ({n})" in taken:
        n += 1
    return f"{doc.source} ({n})"
