"""Both store backends, the embedded folder index and Milvus (a Milvus Lite file in the index folder), behave alike:
hybrid search, filters, near-duplicate collapse, incremental re-index with deletes, the model guard, offsets
(the `backend_settings` fixture is in conftest.py)."""

from __future__ import annotations

import shutil

import pytest

from rag.errors import ModelMismatchError
from rag.index.backend import open_store
from rag.index.build import index_paths
from rag.search.retriever import Filters, Retriever

from .conftest import HashEmbedder


def _retriever(settings, embedder=None):
    return Retriever(settings, embedder=embedder or HashEmbedder())


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_every_mode_finds_the_passage_with_its_exact_original_slice(backend_settings, corpus_copy, mode):
    index_paths([corpus_copy], backend_settings, HashEmbedder())
    passages = _retriever(backend_settings).search("Armenia cancel CSTO exercises", k=3, mode=mode)
    assert any(p.source == "002_838f15288c1da675.txt" and "Azerbaijan" in p.text for p in passages)
    for p in passages:
        original = (corpus_copy / p.source).read_text(encoding="utf-8")
        assert p.original == original[p.start : p.end]  # what quote verification reads
        assert " ".join(p.original.split()) == " ".join(p.text.split())
        assert p.score > 0 and set(p.scores) >= ({"dense", "lexical"} if mode == "hybrid" else {mode})


def test_lexical_search_drops_stop_words_and_scores_only_matching_passages(backend_settings, corpus_copy):
    index_paths([corpus_copy], backend_settings, HashEmbedder())
    store = open_store(backend_settings)
    hits = store.lexical_search("The exercises were canceled", 50)  # "the", "were": stop words
    assert hits and all(score > 0 for _, score in hits)
    assert any("exercises" in p.text for p in store.passages(hits[:3]))
    assert store.lexical_search("zzzqqq", 5) == []
    scores = store.lexical_scores("The exercises were canceled", [hits[0][0], hits[-1][0]])
    assert store.lexical_search("the and of", 5) == []
    assert scores[hits[0][0]] == pytest.approx(hits[0][1], rel=1e-4)


def test_source_and_date_filters(backend_settings, corpus_copy):
    for name, day, topic in (("spring.md", "2023-05-01", "gas pipelines and grain prices"),
                             ("autumn.md", "2023-10-15", "troops, rail links and river water")):
        # Distinct texts: the front matter is not passage text, so near-identical bodies would collapse into one.
        (corpus_copy / name).write_text(f"---\ndate: {day}\n---\n\nRussia and Central Asia met about {topic}.\n")
    index_paths([corpus_copy], backend_settings, HashEmbedder())
    retriever = _retriever(backend_settings)
    passages = retriever.search("Russia Central Asia", k=5, filters=Filters(source="001_*"))
    assert passages and {p.source for p in passages} == {"001_8616b1cfa831146b.txt"}
    assert retriever.search("Russia", filters=Filters(source="nothing-matches*")) == []
    assert {p.source for p in retriever.search("Russia Central Asia", k=10, filters=Filters(since="2023-06"))} == {
        "autumn.md"}  # undated documents never pass a date bound
    assert {p.source for p in retriever.search("Russia", k=10, filters=Filters(until="2023-05"))} == {"spring.md"}
    both = retriever.search("Russia", k=10, filters=Filters(source="*.md", since="2023", until="2023"))
    assert {p.source for p in both} == {"spring.md", "autumn.md"}


def test_near_duplicate_files_collapse_into_one_hit(backend_settings, corpus_copy):
    shutil.copy(corpus_copy / "002_838f15288c1da675.txt", corpus_copy / "wire_copy.txt")
    index_paths([corpus_copy], backend_settings, HashEmbedder())
    passages = _retriever(backend_settings).search("Armenia cancel CSTO exercises", k=5, mode="dense")
    texts = [p.text for p in passages]
    assert len(set(texts)) == len(texts)  # never both copies of the same passage
    assert passages[0].duplicates in (["wire_copy.txt"], ["002_838f15288c1da675.txt"])


def test_incremental_add_modify_delete_embeds_only_the_changes(backend_settings, corpus_copy):
    first = index_paths([corpus_copy], backend_settings, HashEmbedder())
    (corpus_copy / "new.md").write_text("# Zebras\n\nZebras in Kazakhstan were counted in 2024 by rangers.\n")
    changed = corpus_copy / "002_838f15288c1da675.txt"
    changed.write_text(changed.read_text().replace("\n\n", "\n\nA brand new paragraph about quokkas.\n\n", 1))
    (corpus_copy / "004_aaee4ce7cbe7aa07.txt").unlink()
    embedder = HashEmbedder()
    report = index_paths([corpus_copy], backend_settings, embedder)
    assert (report.added, report.updated, len(report.removed), len(report.unchanged)) == (
        ["new.md"], ["002_838f15288c1da675.txt"], 1, 3)
    assert "BelTA" not in " ".join(embedder.embedded_texts)  # unchanged files are not embedded again
    store = open_store(backend_settings)
    docs = store.documents()
    assert {d.source for d in docs} >= {"new.md"} and "004_aaee4ce7cbe7aa07.txt" not in {d.source for d in docs}
    assert store.size == sum(d.chunks for d in docs) == report.chunks and len(docs) == report.documents == 5
    top = _retriever(backend_settings).search("zebras rangers", k=1)[0]
    assert top.source == "new.md" and "Zebras" in top.original
    quokkas = _retriever(backend_settings).search("quokkas", k=5, mode="lexical")
    assert [p.source for p in quokkas] == ["002_838f15288c1da675.txt"] and "quokkas" in quokkas[0].original
    again = HashEmbedder()
    assert not index_paths([corpus_copy], backend_settings, again).changed and again.embedded_texts == []
    assert first.chunks > 0


def test_another_embedding_model_is_refused(backend_settings, corpus_copy):
    index_paths([corpus_copy], backend_settings, HashEmbedder())

    class Other(HashEmbedder):
        model_id = "test/another-model"

    with pytest.raises(ModelMismatchError, match="rebuild"):
        index_paths([corpus_copy], backend_settings, Other())
    with pytest.raises(ModelMismatchError):
        _retriever(backend_settings, Other())
    report = index_paths([corpus_copy], backend_settings, Other(), rebuild=True)
    assert open_store(backend_settings).model_id == "test/another-model" and report.documents == 5


def test_document_original_and_dense_results_agree_across_backends(backend_settings, corpus_copy, settings):
    index_paths([corpus_copy], backend_settings, HashEmbedder())
    store = open_store(backend_settings)
    text = (corpus_copy / "003_f61aea6a88730801.txt").read_text(encoding="utf-8")
    assert store.document_original("003_f61aea6a88730801.txt") == text
    hits = store.dense_search(HashEmbedder().embed_query("Kazakh oil Novorossiysk"), 5)
    vectors = store.vectors_of([i for i, _ in hits])
    query = HashEmbedder().embed_query("Kazakh oil Novorossiysk")
    assert [s for _, s in hits] == pytest.approx(list(vectors @ query), abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


# ---- Milvus: a write killed at any moment leaves the previous state usable


@pytest.fixture
def milvus_settings(settings, tmp_path):
    pytest.importorskip("pymilvus", reason="the Milvus backend needs pip install 'rag[scale]'")
    pytest.importorskip("milvus_lite", reason="the Milvus backend needs pip install 'rag[scale]'")
    from rag.index.milvus.store import disconnect

    settings.store.backend = "milvus"
    settings.store.uri = str(tmp_path / "milvus.db")
    yield settings
    disconnect(settings)


def test_milvus_rows_of_a_killed_write_stay_invisible_and_are_removed(milvus_settings, corpus_copy):
    from rag.index.milvus import writer as milvus_writer
    from rag.index.milvus.store import MilvusStore
    from rag.types import Chunk, Document

    index_paths([corpus_copy], milvus_settings, HashEmbedder())
    store = MilvusStore.open(milvus_settings)
    doc = Document(source="ghost.txt", original="ghost words", text="ghost words", offset_map=list(range(11)))
    # what a writer killed before its commit leaves: rows of batch committed+1, no manifest naming them
    rows = milvus_writer._rows([doc], [(0, Chunk(doc_id=0, ordinal=0, text="ghost words", start=0, end=11))],
                               HashEmbedder().embed_documents(["ghost words"]), 99, 999, batch=2)
    milvus_writer._insert(store.client, store.names, rows)
    assert store.lexical_search("ghost", 5) == [] and "ghost.txt" not in {d.source for d in store.documents()}
    # what a writer killed after its commit, before purging, leaves: a tombstoned document still stored
    victim = store.document_ids_by_key()[str((corpus_copy / "001_8616b1cfa831146b.txt").resolve())][0]
    milvus_writer._set_manifest(store.client, store.prefix, {**store.manifest, "tombstones": [victim]})
    reopened = MilvusStore.open(milvus_settings)
    assert "001_8616b1cfa831146b.txt" not in {d.source for d in reopened.documents()}
    assert all(p.source != "001_8616b1cfa831146b.txt" for p in _retriever(milvus_settings).search("Russia", k=20))
    milvus_writer.recover(reopened)  # the next writer tidies up
    assert reopened.client.query(reopened.names["passages"], filter="batch == 2 or doc_id == %d" % victim,
                                 output_fields=["id"]) == []
    assert reopened.manifest["tombstones"] == []


def test_milvus_rebuild_interrupted_keeps_the_previous_index(milvus_settings, corpus_copy, monkeypatch):
    from rag.index.milvus import writer as milvus_writer

    index_paths([corpus_copy], milvus_settings, HashEmbedder())
    before = open_store(milvus_settings).manifest["generation"]

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(milvus_writer, "_insert", killed)
    with pytest.raises(Exception, match="interrupted"):
        index_paths([corpus_copy], milvus_settings, HashEmbedder(), rebuild=True)
    store = open_store(milvus_settings)
    assert store.manifest["generation"] == before and len(store.documents()) == 5
    assert [c for c in store.client.list_collections() if before not in c and c != "rag_meta"] == []


def test_docs_and_check_read_the_configured_store(backend_env, corpus_copy, monkeypatch):
    import json

    from typer.testing import CliRunner

    from rag.cli import app
    from rag.index.integrity import check_index, check_milvus

    backend_settings = backend_env
    index_paths([corpus_copy], backend_settings, HashEmbedder())
    monkeypatch.setattr("rag.index.embed.get_embedder", lambda *a, **k: HashEmbedder())
    listed = CliRunner().invoke(app, ["docs", "--index", str(backend_settings.index), "--json"])
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.stdout)["documents"]) == len(list(corpus_copy.iterdir()))
    checked = CliRunner().invoke(app, ["check", "--index", str(backend_settings.index)])
    assert checked.exit_code == 0 and checked.stdout.startswith("ok:"), checked.output
    check = check_milvus if backend_settings.store.backend == "milvus" else lambda s: check_index(s.index)
    assert check(backend_settings).counts["documents"] == len(list(corpus_copy.iterdir()))


@pytest.mark.milvus
def test_check_of_an_empty_milvus_store_is_one_problem_line(settings, tmp_path):
    pytest.importorskip("milvus_lite", reason="the Milvus backend needs pip install 'rag[scale]'")
    from rag.index.integrity import check_milvus

    settings.store.backend, settings.store.uri = "milvus", str(tmp_path / "empty.db")
    result = check_milvus(settings)
    assert not result.ok and result.index.endswith("empty.db")
    assert len(result.problems) == 1 and "rag index PATH" in result.problems[0]


def test_a_relabel_keeps_every_passage_its_span_and_vector(backend_settings, corpus_copy):
    from rag.index.build import relabel_index

    index_paths([corpus_copy], backend_settings, HashEmbedder())
    with open_store(backend_settings) as store:
        before = {(p.source, p.start, p.end): (p.text, vector) for p, vector in
                  zip(store.passages([(i, 1.0) for i in sorted(store.chunk_ids_where())]),
                      store.vectors_of(sorted(store.chunk_ids_where())))}
    report = relabel_index(backend_settings, "003_f61aea6a88730801.txt", {"outlet": "Kazinform", "date": "2024-01-02"})
    assert report.relabelled == ["003_f61aea6a88730801.txt"] and report.embedded_chunks == 0
    with open_store(backend_settings) as store:
        ids = sorted(store.chunk_ids_where())
        passages = store.passages([(i, 1.0) for i in ids])
        after = {(p.source, p.start, p.end): (p.text, vector) for p, vector in zip(passages, store.vectors_of(ids))}
        [row] = [d for d in store.documents() if d.source == "003_f61aea6a88730801.txt"]
    assert (row.outlet, row.date, row.date_source) == ("Kazinform", "2024-01-02", "user")
    assert after.keys() == before.keys() and len(passages) == store.size
    for key, (text, vector) in after.items():
        assert text == before[key][0] and vector == pytest.approx(before[key][1], abs=1e-6)
    for p in passages:
        assert p.original == (corpus_copy / p.source).read_text(encoding="utf-8")[p.start : p.end]
        assert (p.outlet, p.date) == (("Kazinform", "2024-01-02") if p.source.startswith("003_") else (p.outlet, p.date))


def test_both_stores_implement_the_whole_protocol():
    import inspect

    from rag.index.backend import PassageStore
    from rag.index.milvus.store import MilvusStore
    from rag.index.embedded.store import IndexStore

    members = {name: value for name, value in vars(PassageStore).items()
               if callable(value) or isinstance(value, property)}
    members = {n: v for n, v in members.items() if not n.startswith("_") or n in ("__enter__", "__exit__")}
    assert {"load_documents", "chunks_of", "sources_by_key", "document_ids_by_key", "documents"} <= set(members)
    for store in (IndexStore, MilvusStore):
        for name, value in members.items():
            assert hasattr(store, name), f"{store.__name__} lacks {name}"
            if callable(value):
                want = list(inspect.signature(value).parameters)
                assert list(inspect.signature(getattr(store, name)).parameters) == want, f"{store.__name__}.{name}"


def test_no_module_outside_the_index_layer_names_a_store_class():
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "rag"
    concrete = {"embedded", "milvus"}  # the two backends' rooms: rag/index/backend.py chooses between them
    found = []
    for path in package.rglob("*.py"):
        if path.relative_to(package).parts[0] == "index":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or "", *(f"{node.module or ''}.{a.name}" for a in node.names)] \
                if isinstance(node, ast.ImportFrom) else []
            if any(concrete & set(name.split(".")) for name in names):
                found.append(f"{path.relative_to(package)}:{node.lineno} imports {node.module}")
            elif isinstance(node, ast.Name) and node.id in {"IndexStore", "MilvusStore"}:
                found.append(f"{path.relative_to(package)}:{node.lineno} names {node.id}")
    assert not found, "\n".join(found)
