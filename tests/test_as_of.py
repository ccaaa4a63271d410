"""A point in time for every question: `--as-of` hides what was published later (but not undated documents), time
words are read from it ("this week" = the seven days up to it), retrieval favours their window, and the answer
says the date it speaks from. Stores: both backends keep undated and earlier documents under `not_after`."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from typer.testing import CliRunner

from rag.answer.assistant import Assistant
from rag.cli import app
from rag.errors import ConfigError
from rag.index.backend import open_store
from rag.search.filters import Filters, parse_as_of
from rag.search.pipeline import retrieve
from rag.search.retriever import Retriever
from rag.news.timewords import time_windows
from rag.types import Passage
from tests.fakes import FakeChatModel

from .conftest import NEWS, NEWS_META, HashEmbedder
from .test_news_answers import DEATHS, cite

AS_OF = dt.date(2023, 1, 5)  # a Thursday


def windows(question: str) -> list[tuple[str, str, str]]:
    return [(w.words, w.start, w.end) for w in time_windows(question, AS_OF)]


def test_relative_time_words_are_windows_before_as_of() -> None:
    assert windows("Who won this week?") == [("this week", "2022-12-30", "2023-01-05")]
    assert windows("What happened last week?") == [("last week", "2022-12-23", "2022-12-29")]
    assert windows("How many died last month?") == [("last month", "2022-12-01", "2022-12-31")]
    assert windows("What did she say yesterday?") == [("yesterday", "2023-01-04", "2023-01-04")]
    assert windows("What opened two weeks ago?") == [("two weeks ago", "2022-12-16", "2022-12-22")]
    assert windows("Who resigned in the past two weeks?") == [("the past two weeks", "2022-12-23", "2023-01-05")]
    assert windows("Which seed did the FDA recently add?") == [("recently", "2022-12-07", "2023-01-05")]
    assert windows("How many so far this year?")[0][1:] == ("2023-01-01", "2023-01-05")
    assert windows("Why did Armenia cancel the exercises?") == []


def test_as_of_is_a_day_and_says_how_to_write_one() -> None:
    assert parse_as_of("2023-01-05") == AS_OF and parse_as_of(None) is None and parse_as_of("today") is None
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        parse_as_of("5 Jan")
    assert Filters(as_of="2023-01").as_of == "2023-01-31" and Filters(as_of="2023-01").active()


@pytest.fixture
def news_and_undated(tmp_path, settings, hash_embedder):
    """The dated news fixtures (2023-06-10 to 2024-03-04) plus one undated note on the same floods."""
    from rag.index.build import index_paths

    folder = tmp_path / "news"
    shutil.copytree(NEWS, folder)
    (folder / "undated-note.txt").write_text("Floods in northern Valdoria: relief workers count the dead.\n",
                                             encoding="utf-8")
    index_paths([folder], settings, hash_embedder, meta_file=NEWS_META)
    return settings


def test_nothing_after_as_of_is_retrieved_but_undated_documents_are(news_and_undated) -> None:
    retriever = Retriever(news_and_undated, embedder=HashEmbedder())
    everything = {p.source for p in retrieve(retriever, DEATHS, 10).passages}
    assert "bbc-floods.md" in everything  # dated 2024-03-04
    found = retrieve(retriever, DEATHS, 10, as_of=dt.date(2024, 3, 3)).passages
    assert {p.source for p in found} == everything - {"bbc-floods.md"}
    assert "undated-note.txt" in {p.source for p in found}
    assert all(p.date is None or p.date <= "2024-03-03" for p in found)


@pytest.mark.parametrize("backend", ["embedded", pytest.param("milvus", marks=pytest.mark.milvus)])
def test_both_stores_keep_undated_and_earlier_documents_under_not_after(backend, tmp_path, settings, hash_embedder):
    from rag.index.build import index_paths

    if backend == "milvus":
        pytest.importorskip("milvus_lite", reason="the Milvus backend needs pip install 'rag[scale]'")
        settings.store.backend = "milvus"
    (tmp_path / "docs").mkdir()
    for name, date in (("old.md", "2022-05-01"), ("new.md", "2023-02-01")):
        (tmp_path / "docs" / name).write_text(f"---\ndate: {date}\n---\nA note on the river dam.\n", encoding="utf-8")
    (tmp_path / "docs" / "undated.txt").write_text("A note on the river dam, undated.\n", encoding="utf-8")
    index_paths([tmp_path / "docs"], settings, hash_embedder)
    try:
        with open_store(settings) as store:
            ids = store.chunk_ids_where(not_after="2023-01-05")
            sources = {p.source for p in store.passages([(i, 1.0) for i in ids])}
    finally:
        if backend == "milvus":
            from rag.index.milvus.store import disconnect

            disconnect(settings)
    assert sources == {"old.md", "undated.txt"}


def test_the_answer_speaks_from_its_as_of_date(news_index) -> None:
    retriever = Retriever(news_index, embedder=HashEmbedder())
    llm = FakeChatModel(cite("killed 42 people", "Floods have killed 42 people"))
    result = Assistant(news_index, retriever=retriever, llm=llm).ask(DEATHS, as_of=dt.date(2024, 3, 3))
    assert "bbc-floods.md" not in {p.source for p in result.passages}
    assert result.citations and all(c.date <= "2024-03-03" for c in result.citations)
    assert (result.as_of, result.newest_source) == ("2024-03-03", "2024-03-02")
    assert result.as_of_words() == "as of 2024-03-03, newest source 2024-03-02"


def test_window_words_favour_sources_published_in_the_window(news_index) -> None:
    retriever = Retriever(news_index, embedder=HashEmbedder())
    question = "What happened to the Valdoria floods death toll this week?"
    found = retrieve(retriever, question, 4, as_of=dt.date(2024, 3, 4))
    scope = found.time_scope
    assert scope["windows"] == [{"words": "this week", "start": "2024-02-27", "end": "2024-03-04"}]
    in_window = [p for p in found.passages if p.date and p.date >= "2024-02-27"]
    assert in_window and all(p.scores["window"] == pytest.approx(0.15) for p in in_window)
    older = [p for p in found.passages if p.date and p.date < "2024-02-27"]
    assert all(p.scores["window"] < 0.01 for p in older)  # the 2023 dam story is months outside the week
    assert any("window" in a for a in scope["actions"])


def test_ask_and_search_take_as_of_on_the_command_line(news_index, monkeypatch) -> None:
    monkeypatch.setattr("rag.index.embed.get_embedder", lambda *a, **k: HashEmbedder())
    monkeypatch.setattr("rag.llm.specs.get_chat_model",
                        lambda s: FakeChatModel(cite("killed 42 people", "Floods have killed 42 people")))
    index = str(news_index.index)
    runner = CliRunner()
    out = runner.invoke(app, ["search", DEATHS, "--as-of", "2024-03-03", "--json", "-k", "10", "--index", index])
    assert out.exit_code == 0, out.output
    assert "bbc-floods.md" not in {p["source"] for p in json.loads(out.stdout)["passages"]}
    out = runner.invoke(app, ["ask", DEATHS, "--as-of", "2024-03-03", "--index", index])
    assert out.exit_code == 0, out.output
    assert "Sources (as of 2024-03-03, newest source 2024-03-02):" in out.stdout
    bad = runner.invoke(app, ["search", DEATHS, "--as-of", "March 3rd", "--index", index])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in str(bad.exception)  # main() prints it as one line


def test_boost_leaves_undated_passages_alone() -> None:
    from rag.news.timescope import boost_windows
    from rag.news.timewords import Window

    dated = Passage(1, "a", 0, 1, 0.5, "x", date="2023-01-04")
    undated = Passage(2, "b", 0, 1, 0.6, "y")
    ranked = boost_windows([undated, dated], [Window("this week", "2022-12-30", "2023-01-05")])
    assert [p.source for p in ranked] == ["a", "b"] and "window" not in undated.scores


def test_timeline_is_left_out_when_no_source_is_dated_and_close_dots_stack() -> None:
    from rag.types import Answer
    from rag.ui.timeline import _rows, timeline_html

    undated = Answer("q", "a", refused=False, passages=[Passage(1, "a", 0, 1, 0.5, "x")])
    assert timeline_html(undated, 1) == ""
    assert _rows([4.0, 5.0, 50.0, 96.0, 96.0, 96.0]) == [0, 1, 0, 0, 1, 2]


def test_without_time_words_fresh_sources_get_a_small_prior_and_an_old_archive_none(news_index) -> None:
    retriever = Retriever(news_index, embedder=HashEmbedder())
    found = retrieve(retriever, DEATHS, 4, as_of=dt.date(2024, 3, 4)).passages
    fresh = {p.source: p.scores["fresh"] for p in found if p.date}
    assert fresh["bbc-floods.md"] == pytest.approx(0.1)  # published on the as-of day
    assert fresh["reuters-floods.html"] == pytest.approx(0.1 * 0.5 ** (2 / 14), abs=1e-6)
    assert fresh.get("herald-dam.txt", 0.0) < 1e-4  # nine months before
    years_later = retrieve(retriever, DEATHS, 4, as_of=dt.date(2030, 1, 1)).passages
    assert all(p.scores.get("fresh", 0.0) < 1e-30 for p in years_later)
