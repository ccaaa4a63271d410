"""Optional cross-encoder reranking: the trained judge shipped with rag ("judge"), or a CrossEncoder folder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import ModelLoadError


def reranker_for(name: str) -> Callable[[str, Sequence[str]], Sequence[float]]:
    """A function scoring texts against a question: the shipped judge for "judge", else a CrossEncoder by path."""
    if name == "judge":
        from ..judge import shared_judge

        return shared_judge().answerability
    model = load_cross_encoder(name)
    return lambda question, texts: model.predict([(question, text) for text in texts])


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
