"""Dates with provenance and outlets: datelines vs page chrome and captions, HTML metadata, front matter, sidecar
files, user corrections that survive re-indexing, and indexes written before these columns existed."""

from __future__ import annotations

import sqlite3

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.index.backend import open_store
from rag.index.build import index_paths
from rag.index.embedded.store import IndexStore
from rag.news.dates import dateline_date, front_matter
from rag.news.outlets import outlet_from_title, outlet_key, wire_credit
from rag.ingest.readers import load_document

from .conftest import CORPUS, NEWS, NEWS_META, HashEmbedder


@pytest.mark.parametrize(
    ("text", "date", "why"),
    [
        ("Floods hit the north\nBy Jane Doe, Reuters | March 3, 2024 10:15 GMT\nBody.", "2024-03-03", "dateline"),
        ("A headline here\nPublished on 4 March 2024\nBody.", "2024-03-04", "dateline"),
        ("Thursday, May 2, 2024\nspot_img\nA headline here\nBody text.", None, "page chrome"),
        ("A headline here\nPutin at the summit on Nov. 9, 2022.\nBody.", None, "captions or events"),
        ("A headline here\nThe war began in earnest after March 3, 2022.", None, "captions or events"),
        ("A headline here\nNo dates at all.", None, "states no date"),
    ],
)
def test_dateline_or_none_with_why(text: str, date: str | None, why: str) -> None:
    found = dateline_date(text)
    assert found.date == date and why in (found.note if date is None else found.source)


def test_every_sample_article_gets_no_date_and_a_reason() -> None:
    """The sample corpus states no publication date: only a scrape date above a headline, captions, events."""
    notes = {}
    for path in sorted(CORPUS.iterdir()):
        doc = load_document(path, root=CORPUS)
        assert doc.date is None and doc.date_source == "none"
        notes[path.name] = doc.metadata["date_note"]
    assert "'Wednesday, October 8, 2025' above the headline is page chrome" in notes["001_8616b1cfa831146b.txt"]
    assert "captions or events in the story (first: 2022-11-09)" in notes["000_c616c649b025df99.txt"]
    assert "captions or events in the story (first: 2022-02-24)" in notes["004_aaee4ce7cbe7aa07.txt"]


def test_front_matter_gives_date_outlet_url() -> None:
    text = "---\ntitle: X\npublished: 2 March 2024\npublisher: BBC News\nlink: https://bbc.co.uk/a\n---\nBody."
    assert front_matter(text) == {"date": "2024-03-02", "outlet": "BBC News", "url": "https://bbc.co.uk/a",
                                  "title": "X"}
    assert front_matter("---\n: [broken\n---\nBody") == {} and front_matter("no front matter") == {}


@pytest.mark.parametrize(
    ("title", "outlet"),
    [("Russia loses to China: Putin's credibility in Central Asia shaken – Reuters", "Reuters"),
     ("Floods kill 42 | Daily Post", "Daily Post"), ("Ukraine war - what we know", None),
     ("Floods in the north – Analysis", None), ("Putin is losing influence in the post-Soviet space", None)],
)
def test_outlet_from_title_suffix(title: str, outlet: str | None) -> None:
    assert outlet_from_title(title) == outlet


def test_outlet_keys_fold_names_and_domains() -> None:
    assert outlet_key("BBC News") == outlet_key("bbc.co.uk") == outlet_key("news.bbc.co.uk") == "bbc"
    assert outlet_key("The Guardian") == outlet_key("theguardian.com") == "guardian"
    assert outlet_key("Reuters") != outlet_key("Daily Post")
    assert wire_credit("Headline\n\nKASSEL, March 2 (Reuters) - Floods.") == "Reuters"
    assert wire_credit("He told (Reuters) - nothing") is None


def test_news_corpus_dates_and_outlets_each_way(news_index) -> None:
    rows = {d.source: d for d in IndexStore(news_index.index).documents()}
    got = {s: (d.date, d.date_source, d.outlet) for s, d in rows.items()}
    assert got == {
        "reuters-floods.html": ("2024-03-02", "html-meta", "Reuters"),  # htmldate via trafilatura; og:site_name
        "dailypost-floods.txt": ("2024-03-02", "dateline", "Daily Post"),  # "Published: ..." line; title suffix
        "bbc-floods.md": ("2024-03-04", "front-matter", "BBC News"),
        "herald-dam.txt": ("2023-06-10", "sidecar", "Valdoria Herald"),  # tests/data/news-meta.csv
    }
    assert rows["dailypost-floods.txt"].wire == "Reuters"  # "KASSEL, March 2 (Reuters) -": a retold wire story
    assert rows["reuters-floods.html"].url.startswith("https://www.reuters.com/")


def test_user_correction_survives_reindex_and_rebuild(backend_env) -> None:
    settings = backend_env  # the embedded index or Milvus; the CLI reads the same store from RAG_STORE__*
    index_paths([NEWS], settings, HashEmbedder(), meta_file=NEWS_META)
    runner = CliRunner()
    out = runner.invoke(app, ["docs", "--index", str(settings.index), "--set", "bbc-floods.md",
                              "date=2024-03-05", "outlet=BBC"])
    assert out.exit_code == 0, out.output
    assert "bbc-floods.md  2024-03-05 (user)  BBC" in out.output

    def bbc() -> tuple:
        with open_store(settings) as store:
            row = next(d for d in store.documents() if d.source == "bbc-floods.md")
            [hit] = store.passages([(i, 1.0) for i in store.chunk_ids_where("bbc-floods.md")][:1])
        return row.date, row.date_source, row.outlet, hit.outlet, hit.date

    assert bbc() == ("2024-03-05", "user", "BBC", "BBC", "2024-03-05")  # passages carry the correction too
    embedder = HashEmbedder()
    assert not index_paths([NEWS], settings, embedder).changed and embedder.embedded_texts == []
    assert bbc() == ("2024-03-05", "user", "BBC", "BBC", "2024-03-05")
    index_paths([NEWS], settings, HashEmbedder(), rebuild=True)
    assert bbc() == ("2024-03-05", "user", "BBC", "BBC", "2024-03-05")


def test_docs_lists_provenance_and_why_not(seed_index) -> None:
    out = CliRunner().invoke(app, ["docs", "--index", str(seed_index.index)])
    assert out.exit_code == 0
    assert "003_f61aea6a88730801.txt  no date  Reuters" in out.output
    assert "no date: no dateline or 'published' line near the top; 'Wednesday, October 8, 2025'" in out.output
    bad = CliRunner().invoke(app, ["docs", "--index", str(seed_index.index), "--set", "nope.txt", "date=2024-01-01"])
    assert bad.exit_code == 1 and "no document 'nope.txt'" in str(bad.exception)


def test_bad_sidecar_is_one_line(tmp_path, settings) -> None:
    meta = tmp_path / "m.csv"
    meta.write_text("source,date\nherald-dam.txt,someday\n", encoding="utf-8")
    with pytest.raises(Exception, match="line 2: 'someday' is not a date: write YYYY-MM-DD"):
        index_paths([NEWS], settings, HashEmbedder(), meta_file=meta)


def test_index_written_before_the_news_columns_still_reads(news_index) -> None:
    store = IndexStore(news_index.index)
    db = store.folder / "meta.sqlite"
    store.close()
    with sqlite3.connect(db) as conn:
        for column in ("date_source", "outlet", "url"):
            conn.execute(f"ALTER TABLE documents DROP COLUMN {column}")
    store = IndexStore(news_index.index)
    [row] = [d for d in store.documents() if d.source == "bbc-floods.md"]
    assert row.date == "2024-03-04" and row.outlet is None and row.date_source == "none"
    assert store.passages([(0, 1.0)])[0].outlet is None
