"""Sentence-aware chunking with exact character offsets into the cleaned document text."""

from __future__ import annotations

from collections.abc import Iterable

from ..text import token_count
from ..types import Chunk, Document

# Split on paragraphs first, then sentence ends, then clauses, then words. The
# sentence patterns use look-behind so the punctuation stays with its sentence.
_SEPARATORS = ["\n\n", "\n", r"(?<=[.!?…])\s+", r"(?<=[;:])\s+", r"(?<=,)\s+", r"\s+", ""]


def make_splitter(size: int, overlap: int):
    """A LangChain recursive splitter measuring chunks in words."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        separators=_SEPARATORS,
        is_separator_regex=True,
        keep_separator="start",
        chunk_size=size,
        chunk_overlap=min(overlap, size // 2),
        length_function=token_count,
    )


def locate_pieces(text: str, pieces: Iterable[str]) -> list[tuple[int, int]]:
    """Find each piece's [start, end) in `text`, in order.

    LangChain's own start-index tracking assumes character lengths, so with a
    word-based length it drifts; searching forward from the previous start is exact
    because pieces are substrings that appear in document order.
    """
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in pieces:
        start = text.find(piece, cursor)
        if start < 0:  # cannot happen for splitter output; fail loudly if it does
            raise ValueError(f"chunk not found in document text: {piece[:60]!r}")
        spans.append((start, start + len(piece)))
        cursor = start + 1
    return spans


def chunk_document(doc: Document, doc_id: int, size: int = 120, overlap: int = 20) -> list[Chunk]:
    """Cut a document's cleaned text into overlapping passages with offsets."""
    pieces = [p for p in make_splitter(size, overlap).split_text(doc.text) if p.strip()]
    spans = locate_pieces(doc.text, pieces)
    return [
        Chunk(doc_id=doc_id, ordinal=i, text=piece, start=start, end=end)
        for i, (piece, (start, end)) in enumerate(zip(pieces, spans))
    ]
