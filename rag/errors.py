"""User-facing errors: each carries one line that tells the user what to do."""

from __future__ import annotations


def first_line(error: BaseException, limit: int = 160) -> str:
    """The first line of an error message, cut to `limit` characters (the error's type when it has no message)."""
    text = str(error).strip()
    return text.splitlines()[0][:limit] if text else type(error).__name__


class RagError(Exception):
    """Base class for errors shown to users as one line, without a traceback."""


class ConfigError(RagError):
    """A setting is missing or invalid."""


class IngestError(RagError):
    """A document could not be read."""


class IndexNotFoundError(RagError):
    """The index folder does not exist or holds no index."""


class IndexFormatError(RagError):
    """The index exists but is corrupt or from an incompatible version."""


class IndexDamagedError(IndexFormatError):
    """Part of an index is missing or unreadable; `what` names the part, the message says how to recover."""

    def __init__(self, root: object, what: str):
        self.what = what
        super().__init__(f"index {root} is damaged ({what}): rebuild it with `rag index PATH --rebuild --index {root}` "
                         f"(`rag check --index {root}` lists every problem)")


class ModelMismatchError(RagError):
    """The configured embedding model differs from the one the index was built with."""


class ModelLoadError(RagError):
    """A model (embedder, reranker, LLM) could not be loaded."""


class LLMError(RagError):
    """The chat model could not be reached or answered with an error."""


class IndexLockedError(RagError):
    """Another process is writing the same index."""


class IndexInterrupted(RagError):
    """Ctrl-C during indexing, turned into one line saying the previous index is still live.

    Not a KeyboardInterrupt on purpose: typer turns those into a silent exit 130 before the CLI can print.
    """
