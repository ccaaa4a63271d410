"""Evaluation-set loaders on small copies of SciFact and CLAPNQ rows (tests/data/shared)."""

import hashlib
import shutil

import pytest

from rag.eval.datasets import (
    DatasetError,
    clapnq_documents,
    clapnq_gold,
    parse_id_list,
    parse_sentence_list,
    prepare_dataset,
    scifact_documents,
    scifact_gold,
    seed_gold,
)

from .conftest import CORPUS, REPO, SEED_DEV

SHARED = REPO / "tests" / "data" / "shared"


def test_sentence_lists_parse_without_eval():
    cell = "['First one.'\n 'It\\'s second.'\n \"A \\\"quoted\\\" third's.\"]"
    assert parse_sentence_list(cell) == ["First one.", "It's second.", 'A "quoted" third\'s.']
    assert parse_sentence_list("['__import__(\"os\").system(\"false\")']") == ['__import__("os").system("false")']
    assert parse_id_list("[ 5152028 11705328]") == ["5152028", "11705328"] and parse_id_list("[]") == []


def test_scifact_documents_hold_title_and_every_sentence():
    docs = {d.source: d for d in scifact_documents(SHARED)}
    assert set(docs) == {"31715818", "14717500", "5152028", "11705328", "70115"}
    doc = docs["70115"]
    assert doc.text.startswith(doc.title + "\n\n") and doc.title
    assert "We consider the problem of comparing complex hierarchical models" in doc.text
    assert "['" not in doc.text and "'\n" not in doc.text  # no list syntax left over
    assert doc.original == doc.text and doc.offset_map == list(range(len(doc.text)))
    assert doc.content_hash == hashlib.sha256(doc.text.encode()).hexdigest()


def test_scifact_gold_groups_rows_of_one_claim():
    gold = {g.id: g for g in scifact_gold(SHARED)}
    assert set(gold) == {"scifact-1", "scifact-3", "scifact-36"}
    assert gold["scifact-3"].relevant_sources == ["14717500"]  # two evidence rows, one cited doc
    assert gold["scifact-36"].relevant_sources == ["5152028", "11705328"] and gold["scifact-36"].kind == "multi"
    assert all(g.answerable and not g.answers for g in gold.values())
    assert gold["scifact-1"].question == "0-dimensional biomaterials show inductive properties."


def test_clapnq_corpus_dedups_passages_and_evidence_quotes_are_in_them():
    docs = list(clapnq_documents(SHARED))
    texts = [d.text for d in docs]
    assert len(texts) == len(set(texts)) == 5  # six records, two share one passage
    by_source = {d.source: d for d in docs}
    gold = clapnq_gold(SHARED)
    answerable = [g for g in gold if g.answerable]
    assert len(answerable) == 4 and len(gold) == 6
    for item in answerable:
        assert item.answers and item.evidence and item.relevant_sources
        for ev in item.evidence:
            assert ev.quote in by_source[ev.source].text
    sirens = [g for g in answerable if "sirens" in g.question]
    assert sirens[0].relevant_sources == sirens[1].relevant_sources
    assert sirens[0].relevant_sources[0].startswith("O Brother, Where Art Thou? #")


def test_clapnq_unanswerable_items_have_no_answers():
    declined = [g for g in clapnq_gold(SHARED) if not g.answerable]
    assert len(declined) == 2
    assert all(g.kind == "unanswerable" and not g.answers and not g.evidence for g in declined)


def test_clapnq_limit_balances_answerable_and_unanswerable():
    gold = clapnq_gold(SHARED, limit=4)
    assert [g.answerable for g in gold] == [True, True, False, False]


def test_missing_data_is_one_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        list(scifact_documents(tmp_path))
    with pytest.raises(DatasetError, match="not found"):
        clapnq_gold(tmp_path)


def test_prepare_dataset_builds_once_then_reuses(backend_settings, hash_embedder, tmp_path):
    from rag.index.backend import open_store

    settings = backend_settings  # each data set's index in its own folder (with Milvus: its own Lite file there)
    shared = tmp_path / "shared"
    shutil.copytree(SHARED, shared)
    shutil.copytree(CORPUS, shared / "corpus")
    shutil.copy(SEED_DEV, shared / "eval" / "seed_dev.jsonl")

    def sources(folder):
        local = settings.model_copy(deep=True)
        local.index = folder
        with open_store(local) as store:
            return {d.source for d in store.documents()}

    gold, folder = prepare_dataset("seed", shared, tmp_path / "indexes", settings, hash_embedder)
    assert folder == tmp_path / "indexes" / "seed" and gold == seed_gold(shared)
    assert {e.source for g in gold for e in g.evidence} <= sources(folder)
    embedded = len(hash_embedder.embedded_texts)
    prepare_dataset("seed", shared, tmp_path / "indexes", settings, hash_embedder)
    assert len(hash_embedder.embedded_texts) == embedded
    _, scifact = prepare_dataset("scifact", shared, tmp_path / "indexes", settings, hash_embedder)
    assert sources(scifact) == {d.source for d in scifact_documents(shared)}
    if settings.store.backend == "milvus":  # the data sets' Lite files, beside the fixture's own
        from rag.index.milvus.store import disconnect

        for name in ("seed", "scifact"):
            disconnect(settings.model_copy(update={"index": tmp_path / "indexes" / name}))
    with pytest.raises(DatasetError, match="unknown data set"):
        prepare_dataset("nope", shared, tmp_path / "indexes", settings, hash_embedder)
