"""Incremental indexing: only new or changed files are embedded; deleted files leave the index."""


import pytest

from rag.errors import ConfigError, ModelMismatchError
from rag.index.build import index_paths
from rag.index.embedded.store import IndexStore

from .conftest import HashEmbedder



def test_first_build_indexes_every_file(settings, hash_embedder, corpus_copy):
    report = index_paths([corpus_copy], settings, hash_embedder)
    assert len(report.added) == 5 and report.documents == 5
    assert report.embedded_chunks == report.chunks == len(hash_embedder.embedded_texts)


def test_unchanged_corpus_embeds_nothing_and_keeps_the_index(settings, hash_embedder, corpus_copy):
    index_paths([corpus_copy], settings, hash_embedder)
    generation = IndexStore(settings.index).folder
    again = HashEmbedder()
    report = index_paths([corpus_copy], settings, again)
    assert again.embedded_texts == [] and len(report.unchanged) == 5 and not report.changed
    assert IndexStore(settings.index).folder == generation


def test_add_modify_delete(settings, hash_embedder, corpus_copy):
    index_paths([corpus_copy], settings, hash_embedder)
    (corpus_copy / "new.md").write_text("# Zebras\n\nZebras in Kazakhstan were counted in 2024 by rangers.\n")
    changed = corpus_copy / "002_838f15288c1da675.txt"
    changed.write_text(changed.read_text().replace("\n\n", "\n\nA brand new paragraph about quokkas.\n\n", 1))
    (corpus_copy / "004_aaee4ce7cbe7aa07.txt").unlink()
    embedder = HashEmbedder()
    report = index_paths([corpus_copy], settings, embedder)
    assert report.added == ["new.md"]
    assert report.updated == ["002_838f15288c1da675.txt"]
    assert [r.endswith("004_aaee4ce7cbe7aa07.txt") for r in report.removed] == [True]
    assert len(report.unchanged) == 3
    embedded = " ".join(embedder.embedded_texts)
    assert "Zebras" in embedded and "quokkas" in embedded
    assert "BelTA" not in embedded  # 001 was unchanged: not re-embedded
    store = IndexStore(settings.index)
    sources = {d.source for d in store.documents()}
    assert "004_aaee4ce7cbe7aa07.txt" not in sources and "new.md" in sources
    top = store.passages(store.dense_search(embedder.embed_query("zebras rangers"), 1))[0]
    assert top.source == "new.md"


def test_reused_passages_keep_their_vectors(settings, hash_embedder, corpus_copy):
    index_paths([corpus_copy], settings, hash_embedder)
    before = IndexStore(settings.index)
    vectors_before = {c.text: before.vectors[c.id].copy() for d in range(5) for c in before.chunks_of(d)}
    (corpus_copy / "a_new.txt").write_text("Something entirely different about volcanoes.")
    index_paths([corpus_copy], settings, HashEmbedder())
    after = IndexStore(settings.index)
    reused = [(c.text, after.vectors[c.id]) for d in range(6) for c in after.chunks_of(d) if c.text in vectors_before]
    assert len(reused) == len(vectors_before)
    for text, vector in reused:
        assert (vector == vectors_before[text]).all()


def test_other_folders_survive_unless_pruned(settings, hash_embedder, corpus_copy, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text("A note about the Caspian Sea and its sturgeon.")
    index_paths([corpus_copy], settings, hash_embedder)
    index_paths([other], settings, hash_embedder)
    assert IndexStore(settings.index).manifest["counts"]["documents"] == 6
    report = index_paths([other], settings, hash_embedder, prune=True)
    assert len(report.removed) == 5 and report.documents == 1


def test_changing_the_embedding_model_needs_a_rebuild(settings, hash_embedder, corpus_copy):
    index_paths([corpus_copy], settings, hash_embedder)
    other = HashEmbedder()
    other.model_id = "test/another-model"
    with pytest.raises(ModelMismatchError, match="--rebuild"):
        index_paths([corpus_copy], settings, other)
    report = index_paths([corpus_copy], settings, other, rebuild=True)
    assert report.embedded_chunks == report.chunks and IndexStore(settings.index).model_id == "test/another-model"


def test_skipped_files_are_reported_with_a_reason(settings, hash_embedder, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.txt").write_text("Kyrgyzstan postponed the CSTO exercises.")
    (folder / "b.xyz").write_text("unknown")
    (folder / "c.txt").write_bytes(b"\x00\x01binary\x00")
    report = index_paths([folder], settings, hash_embedder)
    reasons = {s.source.split("/")[-1]: s.reason for s in report.skipped}
    assert report.documents == 1 and "unsupported" in reasons["b.xyz"] and "binary" in reasons["c.txt"]


@pytest.fixture
def extracted(monkeypatch):
    """Names of the files whose text is extracted (the real loader runs)."""
    import rag.index.reading

    names: list[str] = []
    real = rag.index.reading.load_document

    def spy(path, *args, **kwargs):
        names.append(path.name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(rag.index.reading, "load_document", spy)
    return names


def test_unchanged_files_are_not_extracted_again(settings, hash_embedder, corpus_copy, extracted):
    index_paths([corpus_copy], settings, hash_embedder)
    assert len(extracted) == 5
    extracted.clear()
    changed = corpus_copy / "003_f61aea6a88730801.txt"
    changed.write_text(changed.read_text() + "\nA closing line about quokkas.\n")
    same = corpus_copy / "001_8616b1cfa831146b.txt"
    same.write_bytes(same.read_bytes())  # new mtime, same bytes
    report = index_paths([corpus_copy], settings, HashEmbedder())
    assert extracted == [changed.name]
    assert report.updated == [changed.name] and len(report.unchanged) == 4
    assert "quokkas" in IndexStore(settings.index).document_original(changed.name)


def test_a_rebuild_extracts_every_file_again(settings, hash_embedder, corpus_copy, extracted):
    index_paths([corpus_copy], settings, hash_embedder)
    extracted.clear()
    report = index_paths([corpus_copy], settings, hash_embedder, rebuild=True)
    assert sorted(extracted) == sorted(p.name for p in corpus_copy.iterdir())
    assert len(report.added) == 5 and report.chunks == report.embedded_chunks


def test_changing_the_chunk_size_needs_a_rebuild_and_then_re_chunks_every_file(settings, hash_embedder, corpus_copy,
                                                                                extracted):
    first = index_paths([corpus_copy], settings, hash_embedder)
    extracted.clear()
    settings.chunk.size = 60
    with pytest.raises(ConfigError, match="--rebuild"):
        index_paths([corpus_copy], settings, HashEmbedder())
    assert IndexStore(settings.index).manifest["chunking"]["size"] == 120  # the index was left as it was
    report = index_paths([corpus_copy], settings, HashEmbedder(), rebuild=True)
    assert len(extracted) == 5 and report.chunks > first.chunks == first.embedded_chunks
    assert report.embedded_chunks == report.chunks
