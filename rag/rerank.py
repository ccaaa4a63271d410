"""Optional cross-encoder reranking (off by default: no reranker ships with offline weights)."""

from __future__ import annotations

from pathlib import Path

from .errors import ModelLoadError


def load_cross_encoder(name: str):
    """Load a sentence-transformers CrossEncoder by hub name or local path."""
    try:
        from sentence_transformers import CrossEncoder

        return CrossEncoder(str(Path(name).expanduser()) if Path(name).expanduser().exists() else name, device="cpu")
    except Exception as exc:  # noqa: BLE001 - shown to the user as one line
        raise ModelLoadError(
            f"could not load reranker {name!r} ({type(exc).__name__}): give a local CrossEncoder folder "
            "or unset RAG_RETRIEVE__RERANKER"
        ) from exc
