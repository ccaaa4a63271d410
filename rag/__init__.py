"""rag: answers from your documents, every claim backed by a verified quote.

The public API (loaded on first use, so `import rag` stays light)::

    from rag import Assistant, index_paths, load_settings
    settings = load_settings(index="index/default")
    index_paths(["examples/corpus"], settings)
    print(Assistant(settings).ask("Why did Armenia cancel CSTO exercises?").answer)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS = {
    "Assistant": "rag.answer.assistant",
    "answer": "rag.answer.assistant",
    "Retriever": "rag.search.retriever",
    "Filters": "rag.search.filters",
    "index_paths": "rag.index.build",
    "load_settings": "rag.config",
    "Settings": "rag.config",
    "Answer": "rag.types",
    "Citation": "rag.types",
    "Passage": "rag.types",
    "REFUSAL": "rag.types",
    "RefusalReason": "rag.types",
    "RagError": "rag.errors",
}

__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:
    from .answer.assistant import Assistant, answer
    from .config import Settings, load_settings
    from .errors import RagError
    from .index.build import index_paths
    from .search.filters import Filters
    from .search.retriever import Retriever
    from .types import REFUSAL, Answer, Citation, Passage, RefusalReason


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
