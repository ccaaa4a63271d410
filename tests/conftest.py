"""Shared test fakes and fixtures: a deterministic embedder, a small index built from the seed corpus."""

from __future__ import annotations

import re
import shutil
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "examples" / "corpus"
SEED_DEV = REPO / "tests" / "data" / "seed_dev.jsonl"
NEWS = REPO / "tests" / "data" / "news"  # four outlets, dated three ways, conflicting figures, one retold wire story
NEWS_META = REPO / "tests" / "data" / "news-meta.csv"  # the sidecar dating the one undated file
CHROMIUM = "/usr/bin/chromium"  # the browser tests (test_ui_browser*.py) drive Debian's chromium
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
OUTPUT = REPO / "test-output"  # the browser tests' screenshots


class HashEmbedder:
    """Bag-of-words hashed into 256 dims, L2-normalised: texts sharing words are similar. Counts calls."""

    model_id = "test/hash-embedder"
    dim = 256

    def __init__(self) -> None:
        self.embedded_texts: list[str] = []

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype="float32")
        for word in re.findall(r"\w+", text.lower()):
            vec[zlib.crc32(word.encode()) % self.dim] += 1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        self.embedded_texts.extend(texts)
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), dtype="float32")

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


class WordJudge:
    """Answerability by the share of the question's words a text holds (what the gate sees is what it scores)."""

    name = "word-judge"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def answerability(self, question, texts):
        self.seen += texts
        words = set(question.lower().split())
        return [len(words & set(t.lower().split())) / len(words) for t in texts]


class FakeJudge:
    """A claim judge that says yes when most (60%) of the claim's new content words are in the evidence."""

    name = "fake-judge"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def support(self, question: str, claim: str, evidence: str) -> float:
        from rag.text import content_words

        self.calls.append((question, claim, evidence))
        words = content_words(claim) - content_words(question)
        share = len(words & content_words(evidence)) / len(words) if words else 1.0
        return 0.9 if share >= 0.6 else 0.1


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the sample corpus."""
    folder = tmp_path / "docs"
    shutil.copytree(CORPUS, folder)
    return folder


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings pointing at a fresh index folder, isolated from the user's RAG_* env."""
    from rag.config import Settings

    for var in [v for v in __import__("os").environ if v.startswith("RAG_")]:
        monkeypatch.delenv(var)
    # Grounding tests script the chat model's replies; the claim judge and the judge gate are tested apart
    # (tests/test_verify.py, tests/test_judge.py), so here both are off for settings made in-process and by the CLI.
    monkeypatch.setenv("RAG_ANSWER__CHECK_CLAIMS", "false")
    monkeypatch.setenv("RAG_ANSWER__GATE", "false")
    return Settings(index=tmp_path / "index")


BACKENDS = ["embedded", pytest.param("milvus", marks=pytest.mark.milvus)]


@pytest.fixture(params=BACKENDS)
def backend_settings(request, settings):
    """Settings for a fresh index on each store backend; Milvus Lite runs from its default file, milvus.db inside
    the index folder."""
    if request.param == "milvus":
        pytest.importorskip("pymilvus", reason="the Milvus backend needs pip install 'rag[scale]'")
        pytest.importorskip("milvus_lite", reason="the Milvus backend needs pip install 'rag[scale]'")
        settings.store.backend = "milvus"
    yield settings
    if request.param == "milvus":
        from rag.index.milvus.store import disconnect

        disconnect(settings)


@pytest.fixture
def backend_seed(backend_settings, hash_embedder):
    """The sample corpus indexed with the hash embedder, on each store backend."""
    from rag.index.build import index_paths

    index_paths([CORPUS], backend_settings, hash_embedder)
    return backend_settings


@pytest.fixture
def backend_env(backend_settings, monkeypatch):
    """The backend settings as RAG_STORE__* variables too, for the CLI (which reads its own settings)."""
    monkeypatch.setenv("RAG_STORE__BACKEND", backend_settings.store.backend)
    if backend_settings.store.uri:
        monkeypatch.setenv("RAG_STORE__URI", backend_settings.store.uri)
    return backend_settings


@pytest.fixture
def seed_index(settings, hash_embedder):
    """The sample corpus indexed with the hash embedder."""
    from rag.index.build import index_paths

    index_paths([CORPUS], settings, hash_embedder)
    return settings


@pytest.fixture
def news_index(settings, hash_embedder):
    """The news corpus indexed with its sidecar, answers gated as for the hash embedder's lower similarities."""
    from rag.index.build import index_paths

    index_paths([NEWS], settings, hash_embedder, meta_file=NEWS_META)
    return settings


@pytest.fixture(scope="module")
def browser():
    """Headless chromium for the browser tests; those modules skip themselves when playwright or chromium is missing."""
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
