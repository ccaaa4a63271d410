"""Receipts: `rag ask --receipt` writes one, `rag verify` re-checks it offline and names what changed, and
`rag eval --receipts` re-runs a folder of them as regression fixtures."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.config import Settings
from rag.index.backend import open_store
from rag.index.build import index_paths
from tests.fakes import FakeChatModel

from .conftest import BACKENDS, NEWS, NEWS_META, HashEmbedder
from .test_news_answers import DEATHS, cite


@pytest.fixture
def corpus_copy(tmp_path, monkeypatch, request):
    """A copy of the news corpus (to change files), indexed; rag ask runs with the hash embedder and a fake model.
    Indirectly parametrized with a store backend, else the embedded index."""
    backend = getattr(request, "param", "embedded")
    folder = tmp_path / "news"
    shutil.copytree(NEWS, folder)
    for var in [v for v in __import__("os").environ if v.startswith("RAG_")]:
        monkeypatch.delenv(var)
    if backend == "milvus":
        pytest.importorskip("milvus_lite", reason="the Milvus backend needs pip install 'rag[scale]'")
        from rag.index.milvus.store import disconnect

        monkeypatch.setenv("RAG_STORE__BACKEND", "milvus")  # Milvus Lite in the index folder, for rag ask too
        request.addfinalizer(lambda: disconnect(Settings(index=tmp_path / "index")))
    monkeypatch.setenv("RAG_ANSWER__CHECK_CLAIMS", "false")
    monkeypatch.setenv("RAG_ANSWER__MIN_SCORE", "0.1")
    monkeypatch.setattr("rag.index.embed.get_embedder", lambda *a, **k: HashEmbedder())
    monkeypatch.setattr("rag.llm.specs.get_chat_model",
                        lambda s: FakeChatModel(cite("have killed 4", "Floods have killed 42 people")))
    index = tmp_path / "index"
    index_paths([folder], Settings(index=index), HashEmbedder(), meta_file=NEWS_META)
    return folder, index


def _receipt(corpus_copy, path) -> dict:
    folder, index = corpus_copy
    out = CliRunner().invoke(app, ["ask", DEATHS, "--index", str(index), "--receipt", str(path)])
    assert out.exit_code == 0, out.output
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("corpus_copy", BACKENDS, indirect=True)
def test_receipt_holds_what_a_check_needs(corpus_copy, tmp_path) -> None:
    receipt = _receipt(corpus_copy, tmp_path / "r.json")
    [quote] = receipt["quotes"]
    assert quote["source"] == "reuters-floods.html" and quote["path"].endswith("news/reuters-floods.html")
    assert len(quote["sha256"]) == 64 and quote["date"] == "2024-03-02" and quote["outlet"] == "Reuters"
    assert receipt["claims"][0]["supported"] and receipt["model"] and receipt["as_of"] == "2024-03-02"
    with open_store(Settings(index=corpus_copy[1])) as store:  # the embedded index's gen-*, or Milvus's
        assert receipt["index"]["generation"] == store.generation and receipt["settings"]["retrieve"]["k"] == 5
    assert "api_key" not in receipt["settings"]["llm"] and receipt["created"]
    assert {v["value"] for v in receipt["disagreements"][0]["values"]} == {"42 people", "57 people"}


def test_verify_passes_then_names_a_one_character_change(corpus_copy, tmp_path) -> None:
    folder, _ = corpus_copy
    path = tmp_path / "r.json"
    quote = _receipt(corpus_copy, path)["quotes"][0]
    ok = CliRunner().invoke(app, ["verify", str(path)])
    assert ok.exit_code == 0 and "ok: 3 quotes in 2 files" in ok.output

    html = folder / "reuters-floods.html"
    assert "kill 42," in quote["quote"]
    html.write_text(html.read_text(encoding="utf-8").replace("kill 42,", "kill 43,"), encoding="utf-8")
    bad = CliRunner().invoke(app, ["verify", str(path)])
    assert bad.exit_code == 1
    assert "reuters-floods.html: file changed since the receipt (sha256" in bad.output
    assert f"is no longer at chars {quote['start']}-{quote['end']}: no longer in the file" in bad.output


def test_verify_says_where_a_quote_moved(corpus_copy, tmp_path) -> None:
    folder, _ = corpus_copy
    path = tmp_path / "r.json"
    quote = _receipt(corpus_copy, path)["quotes"][0]
    html = folder / "reuters-floods.html"
    assert quote["quote"].startswith("Floods in northern Valdoria")  # the headline
    html.write_text(html.read_text(encoding="utf-8").replace("<h1>Floods", "<h1>The Floods"), encoding="utf-8")
    out = CliRunner().invoke(app, ["verify", str(path), "--json"])
    problems = json.loads(out.output)["problems"]
    assert out.exit_code == 1 and "file changed since the receipt" in problems[0]
    assert problems[1].endswith(f"moved to chars {quote['start'] + 4}-{quote['end'] + 4}")  # "The " came first


def test_verify_finds_moved_files_under_root(corpus_copy, tmp_path) -> None:
    folder, _ = corpus_copy
    path = tmp_path / "r.json"
    _receipt(corpus_copy, path)
    moved = tmp_path / "elsewhere"
    folder.rename(moved)
    assert CliRunner().invoke(app, ["verify", str(path)]).exit_code == 1
    assert CliRunner().invoke(app, ["verify", str(path), "--root", str(moved)]).exit_code == 0


def test_eval_reruns_receipts_as_fixtures(corpus_copy, tmp_path) -> None:
    folder, index = corpus_copy
    receipts = tmp_path / "receipts"
    receipts.mkdir()
    _receipt(corpus_copy, receipts / "deaths.json")
    passed = CliRunner().invoke(app, ["eval", "--receipts", str(receipts), "--index", str(index)])
    assert passed.exit_code == 0 and "PASS  deaths.json" in passed.output and "1 of 1 receipts pass" in passed.output

    (folder / "dailypost-floods.txt").unlink()
    html = folder / "reuters-floods.html"
    html.write_text(html.read_text(encoding="utf-8").replace("kill 42", "kill 44").replace("killed 42", "killed 44"),
                    encoding="utf-8")
    index_paths([folder], Settings(index=index), HashEmbedder())
    failed = CliRunner().invoke(app, ["eval", "--receipts", str(receipts), "--index", str(index), "--json"])
    [run] = json.loads(failed.output)
    assert failed.exit_code == 1 and not run["passed"] and run["problems"] and run["missing"]
    assert "kill 42" in run["missing"][0] and "44" in run["new"][0]


def test_a_file_that_is_not_a_receipt_is_one_line(tmp_path) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text("{}", encoding="utf-8")
    out = CliRunner().invoke(app, ["verify", str(bogus)])
    assert out.exit_code == 1 and "is not a rag receipt" in str(out.exception)
