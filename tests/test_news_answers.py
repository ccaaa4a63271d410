"""News-aware answers on tests/data/news: dates and outlets on citations, "as of", time words, independent
sources (a retold wire story counts once) and disagreements shown side by side with verified quotes."""

from __future__ import annotations

import json
import re

from langchain_core.messages import BaseMessage
from typer.testing import CliRunner

from rag.answer.assistant import Assistant
from rag.news.disagree import find_disagreements
from rag.news.annotate import independent_sources
from rag.api.openai_format import rag_extra
from rag.cli import app
from rag.search.retriever import Retriever
from rag.news.timescope import boost_recent, read_time_scope
from rag.types import Passage
from tests.fakes import FakeChatModel

from .conftest import HashEmbedder

DEATHS = "How many people have died in the Valdoria floods?"


def cite(needle: str, claim: str):
    """A fake model citing the passage (as numbered in its prompt) whose text contains `needle`."""

    def reply(messages: list[BaseMessage]) -> str:
        numbered = dict(re.findall(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', messages[-1].text, re.DOTALL))
        n = next(k for k, text in numbered.items() if needle in text)
        return f"{claim} [{n}]."

    return reply


def ask(settings, question: str, needle: str, claim: str):
    retriever = Retriever(settings, embedder=HashEmbedder())
    return Assistant(settings, retriever=retriever, llm=FakeChatModel(cite(needle, claim))).ask(question)


def test_citations_carry_date_and_outlet_and_the_answer_its_as_of(news_index) -> None:
    result = ask(news_index, DEATHS, "risen to 57", "The toll has risen to 57")
    [citation] = result.citations
    assert (citation.source, citation.date, citation.outlet) == ("bbc-floods.md", "2024-03-04", "BBC News")
    assert result.as_of == "2024-03-04" and result.time_scope is None
    data = json.loads(json.dumps(result.to_dict()))
    assert data["citations"][0]["date"] == "2024-03-04" and data["citations"][0]["outlet"] == "BBC News"
    assert {"as_of", "time_scope", "disagreements", "independent_sources"} <= set(rag_extra(result))
    assert rag_extra(result)["passages"][0]["outlet"]


def test_retold_wire_story_counts_once(news_index) -> None:
    result = ask(news_index, DEATHS, "killed 42 people", "Floods have killed 42 people")
    [claim] = result.claims
    cited = result.passages[claim.citations[0] - 1]
    assert {cited.source, *cited.duplicates} == {"reuters-floods.html", "dailypost-floods.txt"}  # collapsed copies
    assert claim.sources == 1 and claim.single_source and result.independent_sources == 1


def test_independent_sources_merge_outlets_and_wire_credits() -> None:
    def p(source: str, origin: str | None, dups: list[str] = ()) -> Passage:
        return Passage(0, source, 0, 1, 1.0, "x", origin=origin, duplicate_keys=list(dups))

    assert independent_sources([p("a", "Reuters"), p("b", "reuters.com"), p("c", "BBC News")]) == 2
    assert independent_sources([p("a", None), p("b", None)]) == 2  # unknown publishers: each its own
    assert independent_sources([p("a", "BBC", ["dailypost"]), p("b", "Daily Post")]) == 1  # linked by a copy


def test_disagreement_shows_both_figures_with_verified_quotes(news_index) -> None:
    result = ask(news_index, DEATHS, "killed 42 people", "Floods have killed 42 people")
    [disagreement] = result.disagreements
    values = {v.value: v.citation for v in disagreement.values}
    assert disagreement.what == "number of people" and set(values) == {"42 people", "57 people"}
    assert (values["42 people"].outlet, values["42 people"].date) == ("Reuters", "2024-03-02")
    assert (values["57 people"].outlet, values["57 people"].date) == ("BBC News", "2024-03-04")
    for c in values.values():
        original = next(p for p in result.passages if p.source == c.source)
        assert c.verified and original.original_slice(c.start, c.end) == c.quote
    assert "42" in values["42 people"].quote and "57" in values["57 people"].quote


def test_no_disagreement_when_sources_agree_or_the_question_asks_no_figure(news_index) -> None:
    passages = Retriever(news_index, embedder=HashEmbedder()).search(DEATHS, k=4)
    agreeing = [p for p in passages if p.source != "bbc-floods.md"]
    assert find_disagreements(DEATHS, agreeing) == []
    assert find_disagreements("Why did the Lenta river flood?", passages) == []
    # Homes left, not deaths: 9,000 (Reuters) against 12,000 (BBC); the 42 dead are not mixed in.
    [homes] = find_disagreements("How many people left their homes in the Valdoria floods?", passages)
    assert sorted(v.value for v in homes.values) == ["12,000 people", "9,000 people"]


def test_latest_prefers_newer_sources_and_says_so(news_index) -> None:
    question = "What is the latest death toll from the Valdoria floods?"
    result = ask(news_index, question, "risen to 57", "It has risen to 57")
    recency = {p.source: p.scores["recency"] for p in result.passages}
    assert recency["bbc-floods.md"] > recency["dailypost-floods.txt"] > recency["herald-dam.txt"] == 0
    assert result.time_scope["recent"] and "newer sources preferred" in result.time_scope["actions"][0]


def test_recency_boost_reorders_close_scores_only() -> None:
    def p(source: str, score: float, date: str | None) -> Passage:
        return Passage(0, source, 0, 1, score, "x", date=date)

    ranked = boost_recent([p("old", 0.60, "2024-03-02"), p("new", 0.55, "2024-03-04"), p("undated", 0.58, None)])
    assert [x.source for x in ranked] == ["new", "old", "undated"]  # two days newer beats a 0.05 lead
    far_ahead = boost_recent([p("old", 0.9, "2020-01-01"), p("new", 0.5, "2024-01-01")])
    assert [x.source for x in far_ahead] == ["old", "new"]


def test_explicit_year_filters_and_events_are_only_noted(news_index) -> None:
    result = ask(news_index, "What was built on the Lenta river in 2023?", "dam", "A dam was built")
    assert {p.source for p in result.passages} == {"herald-dam.txt"}
    assert result.time_scope["since"] == "2023-01-01" and "only documents published" in result.time_scope["actions"][0]
    scope = read_time_scope("What did Valdoria do before the war?")
    assert scope.since is None and scope.until is None and "names an event" in scope.actions[0]
    assert read_time_scope("Who ruled before March 2023?").until == "2023-02-28"


def cli_ask(monkeypatch, index, question: str, reply: str):
    """`rag ask` run in-process with the hash embedder and a fake model that replies `reply`."""
    monkeypatch.setattr("rag.index.embed.get_embedder", lambda *a, **k: HashEmbedder())
    monkeypatch.setattr("rag.llm.specs.get_chat_model", lambda s: FakeChatModel(reply))
    monkeypatch.setenv("RAG_ANSWER__MIN_SCORE", "0.1")
    out = CliRunner().invoke(app, ["ask", question, "--index", str(index)])
    assert out.exit_code == 0, out.output
    return out


def test_cli_shows_outlets_as_of_and_the_disagreement(news_index, monkeypatch) -> None:
    out = cli_ask(monkeypatch, news_index.index, DEATHS, cite("killed 42 people", "Floods have killed 42 people"))
    assert "Sources (as of 2024-03-02):" in out.stdout
    assert re.search(r"\[\d\] reuters-floods\.html \(Reuters, 2024-03-02\), chars \d+-\d+ ✓", out.stdout)
    assert "Sources differ on the number of people (42 people, 57 people):" in out.stdout
    assert "57 people: [1] bbc-floods.md (BBC News, 2024-03-04)" in out.stdout
    assert "Resting on one source only: 1 of 1 claims" in out.stderr


def test_reports_stating_other_figures_are_not_collapsed_as_copies() -> None:
    """MiniLM puts the BBC and Reuters flood reports at cosine 0.85, above the 0.83 near-duplicate threshold:
    folding one into the other would hide the disagreement (42 against 57 dead)."""
    from rag.search.retriever import _copies

    reuters = Passage(0, "a", 0, 1, 1.0, "Floods killed 42 people on Saturday.")
    bbc = Passage(1, "b", 0, 1, 1.0, "The floods have killed 57 people.")
    retold = Passage(2, "c", 0, 1, 1.0, "Floods killed 42 people, officials said on Saturday.")
    assert not _copies(0.85, 0.83, reuters, bbc) and _copies(0.85, 0.83, reuters, retold)
    assert _copies(0.97, 0.83, reuters, bbc) and not _copies(0.80, 0.83, reuters, retold)
