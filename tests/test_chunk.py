"""Chunking: exact offsets, size limits, overlap."""

from rag.index.chunk import chunk_document, locate_pieces
from rag.ingest.clean import clean_text
from rag.types import Document

from .conftest import CORPUS


def _doc(name: str) -> Document:
    original = (CORPUS / name).read_text(encoding="utf-8")
    text, offset_map = clean_text(original)
    return Document(source=name, original=original, text=text, offset_map=offset_map)


def test_chunk_offsets_are_exact_on_every_seed_file():
    for path in sorted(CORPUS.glob("*.txt")):
        doc = _doc(path.name)
        chunks = chunk_document(doc, 0, size=120, overlap=20)
        assert chunks, path.name
        for chunk in chunks:
            assert doc.text[chunk.start:chunk.end] == chunk.text


def test_chunks_stay_under_the_word_budget_and_cover_the_text():
    doc = _doc("002_838f15288c1da675.txt")
    chunks = chunk_document(doc, 0, size=60, overlap=10)
    assert max(len(c.text.split()) for c in chunks) <= 60
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    words_missing = [m for m in __import__("re").finditer(r"\S+", doc.text) if m.start() not in covered]
    assert not words_missing


def test_neighbouring_chunks_overlap_when_asked():
    doc = _doc("002_838f15288c1da675.txt")
    chunks = chunk_document(doc, 0, size=60, overlap=15)
    overlaps = [a.end > b.start for a, b in zip(chunks, chunks[1:])]
    assert any(overlaps)


def test_sentences_are_not_cut_when_they_fit():
    doc = _doc("002_838f15288c1da675.txt")
    for chunk in chunk_document(doc, 0, size=120, overlap=0):
        ends_sentence = chunk.text.rstrip()[-1] in ".!?”\"’)…:"
        ends_paragraph = doc.text[chunk.end:chunk.end + 1] in ("\n", "")
        assert ends_sentence or ends_paragraph, chunk.text[-60:]


def test_locate_pieces_finds_repeated_text_in_order():
    assert locate_pieces("ab ab ab", ["ab", "ab", "ab"]) == [(0, 2), (3, 5), (6, 8)]
