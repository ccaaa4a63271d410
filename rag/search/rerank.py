"""Optional cross-encoder reranking (off by default: no reranker ships with offline weights)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelLoadError


def load_cross_encoder(name: str):
    """Load a sentence-transformers CrossEncoder from a local folder or the local hub cache (never downloads)."""
    local = Path(name).expanduser()
    if not local.exists() and (local.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1):
        raise ModelLoadError(f"reranker folder {name} does not exist: give a local CrossEncoder folder "
                             "or unset RAG_RETRIEVE__RERANKER")
    try:
        from sentence_transformers import CrossEncoder

        return CrossEncoder(str(local) if local.exists() else name, device="cpu", local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - shown to the user as one line
        raise ModelLoadError(
            f"could not load reranker {name!r} ({type(exc).__name__}): give a local CrossEncoder folder "
            "or unset RAG_RETRIEVE__RERANKER"
        ) from exc
