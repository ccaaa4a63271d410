"""Index store: round trip, atomic generations, model guard, damaged index."""

import numpy as np
import pytest

from rag.errors import IndexNotFoundError, ModelMismatchError
from rag.index.embedded.store import IndexStore, write_index
from rag.index.rows import IndexContent
from rag.types import Chunk, Document


def _content(n_docs: int = 2) -> IndexContent:
    docs, chunks = [], []
    for i in range(n_docs):
        original = f"Doc\u00a0{i}  says   hello {i}."
        text = " ".join(original.replace("\u00a0", " ").split())
        # map cleaned chars to original ones (whitespace collapsed)
        offset_map, j = [], 0
        for ch in text:
            while original[j] != ch and not (ch == " " and original[j].isspace()):
                j += 1
            offset_map.append(j)
            j += 1
            if ch == " ":
                while j < len(original) and original[j].isspace():
                    j += 1
        docs.append(Document(source=f"d{i}.txt", original=original, text=text, offset_map=offset_map, title=f"T{i}"))
        chunks.append(Chunk(doc_id=i, ordinal=0, text=text, start=0, end=len(text)))
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n_docs, 8)).astype("float32")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return IndexContent(docs, chunks, vectors)


MANIFEST = {"embedding_model": "m", "dim": 8}


def test_round_trip_keeps_text_offsets_and_vectors(tmp_path):
    content = _content()
    write_index(tmp_path, content, MANIFEST)
    store = IndexStore(tmp_path)
    assert store.size == 2 and store.manifest["counts"] == {"documents": 2, "chunks": 2}
    hits = store.dense_search(content.vectors[1], k=1)
    assert hits[0][0] == 1 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    passage = store.passages(hits)[0]
    original = store.document_original("d1.txt")
    assert original[passage.start:passage.end] == "Doc\u00a01  says   hello 1."
    assert store.load_documents([1])[0].offset_map == content.documents[1].offset_map


def test_filtered_search_is_exact_over_the_subset(tmp_path):
    content = _content(3)
    write_index(tmp_path, content, MANIFEST)
    store = IndexStore(tmp_path)
    allowed = store.chunk_ids_where(source_glob="d2*")
    assert allowed == {2}
    assert [i for i, _ in store.dense_search(content.vectors[0], 3, allowed)] == [2]


def test_failed_build_leaves_previous_index_usable(tmp_path):
    write_index(tmp_path, _content(2), MANIFEST)
    broken = _content(3)
    broken.vectors = broken.vectors[:2]  # one vector short: the writer must refuse
    with pytest.raises(ValueError):
        write_index(tmp_path, broken, MANIFEST)
    store = IndexStore(tmp_path)
    assert store.size == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_interrupt_mid_write_leaves_previous_index(tmp_path, monkeypatch):
    write_index(tmp_path, _content(2), MANIFEST)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("rag.index.embedded.lexical.build_lexical", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_index(tmp_path, _content(3), MANIFEST)
    assert IndexStore(tmp_path).size == 2
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("gen-")]) == 1


def test_rewrite_replaces_generation_and_cleans_up(tmp_path):
    write_index(tmp_path, _content(2), MANIFEST)
    write_index(tmp_path, _content(3), MANIFEST)
    assert IndexStore(tmp_path).size == 3
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("gen-")]) == 1


def test_model_mismatch_is_a_clear_error(tmp_path):
    write_index(tmp_path, _content(), MANIFEST)
    with pytest.raises(ModelMismatchError, match="rebuild"):
        IndexStore(tmp_path).check_model("other-model")


def test_missing_index_says_how_to_build_one(tmp_path):
    with pytest.raises(IndexNotFoundError, match="rag index"):
        IndexStore(tmp_path / "nope")


def test_no_pickle_files_in_index(tmp_path):
    write_index(tmp_path, _content(), MANIFEST)
    names = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert not [n for n in names if n.endswith((".pkl", ".pickle"))]
    for npy in tmp_path.rglob("*.npy"):
        np.load(npy, allow_pickle=False)  # raises if any array needs pickle
