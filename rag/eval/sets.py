"""What every public evaluation set shares: its one-line error, the check that its files are there, and Documents
whose original text is their text."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..errors import RagError
from ..types import Document


class DatasetError(RagError):
    """An evaluation set is missing or unreadable."""


def require_data(path: Path) -> Path:
    """The path, or a one-line error saying where the data set should be."""
    if not path.exists():
        raise DatasetError(f"{path} not found: the evaluation sets are expected in shared/eval beside the repo")
    return path


def text_document(source: str, text: str, title: str = "", **metadata: Any) -> Document:
    """A Document whose original text is its text (identity offsets), hashed by content."""
    return Document(
        source=source, original=text, text=text, offset_map=list(range(len(text))), title=title,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(), metadata=metadata,
    )
