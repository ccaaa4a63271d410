"""Retrieval: fusion math, modes, dedup, filters, LangChain adapter."""

import pytest

from rag.retrieve import Filters, Retriever, reciprocal_rank_fusion
from rag.types import Passage


def test_rrf_on_a_hand_case():
    fused = reciprocal_rank_fusion([[(1, 0.9), (2, 0.8)], [(2, 7.0), (3, 5.0)]], k=60)
    scores = dict(fused)
    assert scores[2] == pytest.approx(1 / 62 + 1 / 61)
    assert scores[1] == pytest.approx(1 / 61)
    assert scores[3] == pytest.approx(1 / 62)
    assert [i for i, _ in fused] == [2, 1, 3]


def test_rrf_ties_break_by_id_for_determinism():
    assert [i for i, _ in reciprocal_rank_fusion([[(5, 1.0)], [(4, 1.0)]])] == [4, 5]


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_every_mode_finds_the_armenia_passage(seed_index, hash_embedder, mode):
    retriever = Retriever(seed_index, embedder=hash_embedder)
    # the hash embedder has no notion of stopwords, so the dense query is phrased in content words
    passages = retriever.search("Armenia cancel CSTO exercises", k=3, mode=mode)
    assert any(p.source == "002_838f15288c1da675.txt" and "Azerbaijan" in p.text for p in passages)
    assert all(p.score > 0 for p in passages)


def test_passage_spans_point_into_the_original_file(seed_index, hash_embedder):
    from .conftest import CORPUS

    for p in Retriever(seed_index, embedder=hash_embedder).search("Kazakh oil Novorossiysk", k=5):
        original = (CORPUS / p.source).read_text(encoding="utf-8")
        assert " ".join(original[p.start:p.end].split()) == " ".join(p.text.split())


def test_source_filter_restricts_results(seed_index, hash_embedder):
    retriever = Retriever(seed_index, embedder=hash_embedder)
    passages = retriever.search("Russia Central Asia", k=5, filters=Filters(source="001_*"))
    assert passages and {p.source for p in passages} == {"001_8616b1cfa831146b.txt"}
    assert retriever.search("Russia", filters=Filters(source="nothing-matches*")) == []


def test_date_filter_excludes_undated_and_out_of_range(seed_index, hash_embedder):
    retriever = Retriever(seed_index, embedder=hash_embedder)
    dated = {d["source"]: d["date"] for d in retriever.store.documents() if d["date"]}
    assert dated, "the seed corpus states publication dates"
    day = sorted(dated.values())[0]
    passages = retriever.search("Russia", k=10, filters=Filters(since=day, until=day))
    assert passages and all(dated.get(p.source) == day for p in passages)


def test_dedup_keeps_the_best_copy_and_records_the_twin(seed_index, hash_embedder):
    retriever = Retriever(seed_index, embedder=hash_embedder)
    best = retriever.search("Armenia CSTO", k=1, mode="dense")[0]
    twin = Passage(**{**best.to_dict(), "source": "copy.txt", "score": best.score - 0.1, "duplicates": [], "scores": {}})
    other = retriever.search("Macron Kazakhstan visit", k=1, mode="dense")[0]
    kept = retriever.deduplicate([best, twin, other], threshold=0.95)
    assert [p.source for p in kept] == [best.source, other.source]
    assert kept[0].duplicates == ["copy.txt"]
    assert len(retriever.deduplicate([best, twin, other], threshold=1.01)) == 3


def test_langchain_retriever_returns_documents_with_offsets(seed_index, hash_embedder):
    lc = Retriever(seed_index, embedder=hash_embedder).as_langchain()
    docs = lc.invoke("Why did Armenia cancel CSTO exercises?")
    assert docs and {"source", "start", "end", "score"} <= set(docs[0].metadata)
