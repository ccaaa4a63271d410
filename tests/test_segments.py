"""Incremental writes to a large embedded index: the base is shared (hard links), only a delta segment is written."""

from __future__ import annotations

import os

import pytest

from rag.errors import IndexInterrupted
from rag.index.build import index_paths
from rag.index.integrity import check_index
from rag.index.embedded.store import IndexStore
from rag.search.retriever import Filters, Retriever

from .conftest import HashEmbedder

QUERIES = ["zebras rangers", "quokkas", "Armenia CSTO exercises", "Kazakh oil Novorossiysk", "Russia Central Asia"]


@pytest.fixture
def segmented(settings):
    """Settings under which the 55-passage sample corpus counts as large (deltas up to the base's size)."""
    settings.store.segment_min_passages = 10
    settings.store.segment_max_share = 1.0
    return settings



def _change(folder):
    """Add one file, change one, delete one."""
    (folder / "new.md").write_text("# Zebras\n\nZebras in Kazakhstan were counted in 2024 by rangers.\n")
    changed = folder / "002_838f15288c1da675.txt"
    changed.write_text(changed.read_text().replace("\n\n", "\n\nA brand new paragraph about quokkas.\n\n", 1))
    (folder / "004_aaee4ce7cbe7aa07.txt").unlink()


def _answers(settings, mode):
    retriever = Retriever(settings, embedder=HashEmbedder())
    return [[(p.source, p.start, p.end, p.original, round(p.scores.get("dense", 0), 5))
             for p in retriever.search(q, k=4, mode=mode)] for q in QUERIES]


def test_a_small_change_writes_only_a_delta_and_links_the_base(segmented, corpus_copy):
    index_paths([corpus_copy], segmented, HashEmbedder())
    before = IndexStore(segmented.index)
    inode = os.stat(before.folder / "vectors.faiss").st_ino
    before.close()
    _change(corpus_copy)
    embedder = HashEmbedder()
    report = index_paths([corpus_copy], segmented, embedder)
    assert (report.added, report.updated, len(report.removed)) == (["new.md"], ["002_838f15288c1da675.txt"], 1)
    store = IndexStore(segmented.index)
    assert os.stat(store.folder / "vectors.faiss").st_ino == inode  # the base was linked, not written
    assert store.manifest["segments"]["delta"] == {"documents": 2, "chunks": report.embedded_chunks, "tombstones": 2}
    assert store.size == report.chunks == sum(d.chunks for d in store.documents())
    assert "004_aaee4ce7cbe7aa07.txt" not in {d.source for d in store.documents()} and report.documents == 5
    assert check_index(segmented.index).ok


def test_a_segmented_index_answers_as_a_rebuilt_one(segmented, corpus_copy, tmp_path):
    index_paths([corpus_copy], segmented, HashEmbedder())
    _change(corpus_copy)
    index_paths([corpus_copy], segmented, HashEmbedder())
    assert IndexStore(segmented.index).manifest.get("segments")
    rebuilt = segmented.model_copy(update={"index": tmp_path / "rebuilt"})
    index_paths([corpus_copy], rebuilt, HashEmbedder())
    assert not IndexStore(rebuilt.index).manifest.get("segments")
    assert _answers(segmented, "dense") == _answers(rebuilt, "dense")  # same passages, offsets, text and scores
    for segment_hits, full_hits in zip(_answers(segmented, "lexical"), _answers(rebuilt, "lexical")):
        assert segment_hits[0][:4] == full_hits[0][:4]  # BM25 agrees on the best passage (IDF differs slightly)
    retriever = Retriever(segmented, embedder=HashEmbedder())
    assert {p.source for p in retriever.search("quokkas zebras", k=5, filters=Filters(source="*.md"))} == {"new.md"}
    assert not [p for p in retriever.search("Armenia", k=20, mode="lexical") if p.source.startswith("004_")]


def test_later_changes_rewrite_the_delta_and_a_large_delta_is_compacted(segmented, corpus_copy):
    index_paths([corpus_copy], segmented, HashEmbedder())
    _change(corpus_copy)
    index_paths([corpus_copy], segmented, HashEmbedder())
    (corpus_copy / "new.md").write_text("# Zebras\n\nZebras were counted again in 2025.\n")  # a delta document changes
    (corpus_copy / "more.txt").write_text("Penguins of the steppe.")
    embedder = HashEmbedder()
    report = index_paths([corpus_copy], segmented, embedder)
    assert embedder.embedded_texts and all("Zebras" in t or "Penguins" in t for t in embedder.embedded_texts)
    store = IndexStore(segmented.index)
    assert store.manifest["segments"]["delta"]["documents"] == 3 and report.documents == 6
    texts = " ".join(p.text for p in Retriever(segmented, embedder=HashEmbedder()).search("zebras counted", k=10))
    assert "2025" in texts and "2024" not in texts
    store.close()
    segmented.store.segment_max_share = 0.05  # the delta is now too large a share: the next change compacts
    (corpus_copy / "more.txt").write_text("Penguins of the steppe, counted.")
    index_paths([corpus_copy], segmented, HashEmbedder())
    compacted = IndexStore(segmented.index)
    assert "segments" not in compacted.manifest and not (compacted.folder / "delta").exists()
    assert compacted.size == sum(d.chunks for d in compacted.documents()) and check_index(segmented.index).ok


def test_a_killed_segment_write_leaves_the_previous_index(segmented, corpus_copy, monkeypatch):
    from rag.index.embedded import segments

    index_paths([corpus_copy], segmented, HashEmbedder())
    before = IndexStore(segmented.index).folder.name
    _change(corpus_copy)

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(segments, "_write_delta", killed)
    with pytest.raises(IndexInterrupted, match="previous index is still live"):
        index_paths([corpus_copy], segmented, HashEmbedder())
    store = IndexStore(segmented.index)
    assert store.folder.name == before and "004_aaee4ce7cbe7aa07.txt" in {d.source for d in store.documents()}
    assert [p.name for p in segmented.index.iterdir() if p.name.startswith(".tmp")] == []
    monkeypatch.undo()
    assert index_paths([corpus_copy], segmented, HashEmbedder()).added == ["new.md"]


def test_unchanged_files_leave_a_segmented_index_alone(segmented, corpus_copy):
    index_paths([corpus_copy], segmented, HashEmbedder())
    _change(corpus_copy)
    index_paths([corpus_copy], segmented, HashEmbedder())
    generation = IndexStore(segmented.index).folder
    again = HashEmbedder()
    report = index_paths([corpus_copy], segmented, again)
    assert not report.changed and again.embedded_texts == [] and IndexStore(segmented.index).folder == generation


def test_tombstones_are_excluded_from_an_hnsw_base(segmented, corpus_copy):
    segmented.retrieve.hnsw_threshold = 10  # the 55 passages get the approximate (quantised HNSW) index
    index_paths([corpus_copy], segmented, HashEmbedder())
    assert IndexStore(segmented.index).manifest["faiss"] == "hnsw-sq8"
    _change(corpus_copy)
    index_paths([corpus_copy], segmented, HashEmbedder())
    store = IndexStore(segmented.index)
    assert store.manifest["segments"]["delta"]["tombstones"] == 2
    hits = store.passages(store.dense_search(HashEmbedder().embed_query("Armenia CSTO exercises quokkas"), 40))
    assert len(hits) == 40 and not [p for p in hits if p.source.startswith("004_")]
    assert hits[0].source == "002_838f15288c1da675.txt" and hits[0].chunk_id >= store.base_size  # the new version
