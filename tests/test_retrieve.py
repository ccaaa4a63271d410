"""Retrieval: fusion math, modes, dedup, filters, LangChain adapter."""

import pytest

from rag.search.retriever import Filters, Retriever, convex_fusion, reciprocal_rank_fusion
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


def test_date_filter_excludes_undated_and_out_of_range(settings, hash_embedder):
    from rag.index.build import index_paths

    from .conftest import NEWS

    index_paths([NEWS], settings, hash_embedder)  # without its sidecar, herald-dam.txt states no date
    retriever = Retriever(settings, embedder=hash_embedder)
    dated = {d.source: d.date for d in retriever.store.documents() if d.date}
    assert len(dated) == 3 and "herald-dam.txt" not in dated
    day = sorted(dated.values())[0]
    passages = retriever.search("floods in Valdoria", k=10, filters=Filters(since=day, until=day))
    assert passages and all(dated.get(p.source) == day for p in passages)
    assert retriever.search("dam on the Lenta river", k=10, filters=Filters(since="2023")) != []
    assert all(p.source != "herald-dam.txt" for p in retriever.search("dam on the Lenta", k=10, filters=Filters(since="2000")))


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


def test_weighted_rrf_scales_each_list():
    fused = dict(reciprocal_rank_fusion([[(1, 0.9), (2, 0.8)], [(2, 7.0)]], k=10, weights=[1.5, 0.5]))
    assert fused[1] == pytest.approx(1.5 / 11)
    assert fused[2] == pytest.approx(1.5 / 12 + 0.5 / 11)


def test_convex_fusion_on_a_hand_case():
    dense = {1: 0.9, 2: 0.5, 3: 0.1}
    lexical = {1: 0.0, 2: 10.0, 3: 5.0}
    fused = convex_fusion([dense, lexical], [0.5, 0.5])
    assert [i for i, _ in fused] == [2, 1, 3]
    assert dict(fused) == pytest.approx({1: 0.5, 2: 0.75, 3: 0.25})
    assert [i for i, _ in convex_fusion([dense, lexical], [0.8, 0.2])] == [1, 2, 3]


def test_convex_fusion_missing_scores_count_as_minimum_and_constant_maps_add_nothing():
    fused = dict(convex_fusion([{1: 2.0, 2: 1.0}, {3: 4.0, 1: 4.0}], [1.0, 1.0]))
    assert fused == pytest.approx({1: 1.0, 2: 0.0, 3: 0.0})
    assert convex_fusion([], []) == []


@pytest.mark.parametrize("fusion", ["rrf", "convex"])
def test_hybrid_passages_carry_both_scores_for_every_candidate(seed_index, hash_embedder, fusion):
    import numpy as np

    seed_index.retrieve.fusion = fusion
    retriever = Retriever(seed_index, embedder=hash_embedder)
    question = "Kazakh oil Novorossiysk pipeline"
    passages = retriever.search(question, k=8, mode="hybrid")
    lexical = retriever.store.lexical.scores(question)
    query = hash_embedder.embed_query(question)
    for p in passages:
        stored = np.asarray(retriever.store.vectors[p.chunk_id])
        assert p.scores["dense"] == pytest.approx(float(stored @ query), abs=1e-5)
        assert p.scores["lexical"] == pytest.approx(float(lexical[p.chunk_id]), rel=1e-5)
        assert p.scores["fused"] == p.score
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_full_dense_weight_ranks_like_dense(seed_index, hash_embedder):
    seed_index.retrieve.fusion, seed_index.retrieve.dense_weight = "convex", 1.0
    seed_index.retrieve.dedup_threshold = 1.01
    retriever = Retriever(seed_index, embedder=hash_embedder)
    question = "Macron visit Kazakhstan Uzbekistan"
    dense = [p.chunk_id for p in retriever.search(question, k=5, mode="dense")]
    assert [p.chunk_id for p in retriever.search(question, k=5, mode="hybrid")] == dense


def test_lexical_mode_returns_nothing_for_unknown_words(seed_index, hash_embedder):
    assert Retriever(seed_index, embedder=hash_embedder).search("zzqx wwvy", mode="lexical") == []


@pytest.mark.parametrize("since,until", [("2023", "2023-06"), ("2023-01-01", "2023-06-30")])
def test_partial_dates_cover_whole_periods(since, until):
    filters = Filters(since=since, until=until)
    assert (filters.since, filters.until) == ("2023-01-01", "2023-06-31" if len(until) == 7 else "2023-06-30")


@pytest.mark.parametrize("bad", ["yesterday", "2023-1-5", "23-01-01", "2023/01/01"])
def test_bad_dates_and_modes_are_one_line_errors(seed_index, hash_embedder, bad):
    from rag.errors import ConfigError

    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        Filters(since=bad)
    with pytest.raises(ConfigError, match="dense, lexical or hybrid"):
        Retriever(seed_index, embedder=hash_embedder).search("Russia", mode="semantic")


def test_a_different_embedding_model_is_refused(seed_index):
    from rag.errors import ModelMismatchError

    from .conftest import HashEmbedder

    other = HashEmbedder()
    other.model_id = "test/other-model"
    with pytest.raises(ModelMismatchError, match="RAG_EMBED__MODEL=test/hash-embedder"):
        Retriever(seed_index, embedder=other)


def test_a_missing_reranker_is_one_clear_error(seed_index, hash_embedder, tmp_path):
    from rag.errors import ModelLoadError

    seed_index.retrieve.reranker = str(tmp_path / "no-such-cross-encoder")
    with pytest.raises(ModelLoadError, match="unset RAG_RETRIEVE__RERANKER"):
        Retriever(seed_index, embedder=hash_embedder).search("Armenia CSTO")


@pytest.fixture(scope="module")
def minilm_seed(tmp_path_factory):
    """The sample corpus indexed as `rag index` does it (the default embedder, int8 documents on ONNX)."""
    from rag.config import Settings
    from rag.index.embed import embedder_for
    from rag.index.build import index_paths

    from .conftest import CORPUS

    settings = Settings(index=tmp_path_factory.mktemp("minilm") / "index")
    embedder = embedder_for(settings.embed, indexing=True)
    index_paths([CORPUS], settings, embedder)
    return Retriever(settings, embedder=embedder)


@pytest.mark.integration
def test_retold_story_collapses_into_one_passage(minilm_seed):
    passages = minilm_seed.search("Uzbekistan trade partnership with the EU before the war", k=5)
    top = passages[0]
    retellings = {"002_838f15288c1da675.txt", "004_aaee4ce7cbe7aa07.txt"}
    assert top.source in retellings and set(top.duplicates) == retellings - {top.source}
    assert "Uzbekistan" in top.text and len(passages) == 5


@pytest.mark.integration
def test_distinct_facts_from_retellings_both_survive(minilm_seed):
    import numpy as np

    passages = minilm_seed.search("Kazakhstan oil exports and the pipeline to Novorossiysk", k=5)
    texts = " ".join(p.text for p in passages)
    assert "blocking the export of Kazakh oil" in texts  # 002's account
    assert "80 percent of its oil exports" in texts  # 004's account of another fact
    vectors = np.asarray(minilm_seed.store.vectors[[p.chunk_id for p in passages]])
    similarity = vectors @ vectors.T
    assert (similarity[~np.eye(len(passages), dtype=bool)] < minilm_seed.settings.retrieve.dedup_threshold).all()


@pytest.mark.integration
def test_armenia_question_tops_with_the_cancellation_passage_of_002(minilm_seed):
    top = minilm_seed.search("Why did Armenia cancel CSTO exercises?", k=5)[0]
    assert top.source == "002_838f15288c1da675.txt"
    assert "after the CSTO refused to help in the armed conflict with Azerbaijan" in top.text


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_every_answerable_seed_question_has_its_evidence_file_in_the_top_5(minilm_seed, mode):
    import json

    from .conftest import SEED_DEV

    items = [json.loads(line) for line in SEED_DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    misses = []
    for item in (i for i in items if i["answerable"]):
        sources = set()
        for passage in minilm_seed.search(item["question"], k=5, mode=mode):
            sources.update([passage.source, *passage.duplicates])  # a collapsed retelling from the gold file counts
        if not sources & {e["source"] for e in item["evidence"]}:
            misses.append(item["id"])
    assert misses == []
