"""`rag eval` end to end with the real embedder: retrieval-only and fake-model runs on the sample corpus."""

import json
import os
import subprocess
import sys

import pytest

from .conftest import CORPUS, REPO, SEED_DEV

pytestmark = pytest.mark.integration


def _rag(*args, cwd=REPO):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    result = subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=env, cwd=cwd,
                            timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def real_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval") / "index"
    _rag("index", str(CORPUS), "--index", str(folder), "--json")
    return folder


def test_retrieval_only_cli_run_is_deterministic_and_reported(real_index, tmp_path):
    for name in ("a", "b"):
        _rag("eval", str(SEED_DEV), "--index", str(real_index), "--retrieval-only", "--out", str(tmp_path / name))
    a, b = (json.loads((tmp_path / n / "metrics.json").read_text()) for n in ("a", "b"))
    assert {k: v for k, v in a.items() if k not in ("run", "latency")} == \
        {k: v for k, v in b.items() if k not in ("run", "latency")}
    assert a["retrieval"]["n"] == 11 and a["refusal"]["source"].startswith("judge gate")
    assert a["retrieval"]["hit@10"] >= 0.5  # MiniLM finds most gold quotes in a five-document corpus
    assert (tmp_path / "a" / "plots" / "scores.png").stat().st_size > 1000
    compare = _rag("eval", "--compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert "No question changed." in compare.stdout


def test_fake_model_cli_run_goes_through_answer(real_index, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from rag.cli import app
    from tests.fakes import FakeChatModel

    for var in [v for v in os.environ if v.startswith("RAG_")]:
        monkeypatch.delenv(var)
    monkeypatch.setattr("rag.llm.specs.get_chat_model", lambda settings: FakeChatModel())
    args = ["eval", str(SEED_DEV), "--index", str(real_index), "--limit", "4", "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    rows = [json.loads(line) for line in (tmp_path / "r" / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["dev-01", "dev-02", "dev-03", "dev-10"]
    assert all(r["model"] == "fake" and r["answer"] for r in rows)
    answered = [r for r in rows if r["answerable"] and not r["refused"]]
    assert all(r["answer"].startswith("[fake model]") for r in answered)  # the echoing fake model's reply
    assert metrics["refusal"]["n_answerable"] == 3 and metrics["refusal"]["n_unanswerable"] == 1
    assert metrics["refusal"]["false_refusal_rate"] == (3 - len(answered)) / 3
    assert "generate" in metrics["latency"] and metrics["answer"]["exact_match"] == 0.0
    assert metrics["citations"]["verified_share"] in (None, 1.0)
