"""What both protocol faces, the HTTP API (server.py) and the MCP server (mcp_server.py), do alike: a search
through the one retrieval path, returned as JSON-ready passages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import RagError
from ..search.filters import Filters, parse_as_of

if TYPE_CHECKING:
    from ..service import RagService

AS_OF_HELP = ("ask as of this day (YYYY-MM-DD): nothing published after it is read, and time words are read from it "
              "(default: today)")


def search(service: RagService, question: str, k: int | None = None, mode: str | None = None,
           source: str | None = None, since: str | None = None, until: str | None = None,
           as_of: str | None = None) -> dict[str, Any]:
    """The passages a question retrieves (numbered from 1, with source, offsets into the original, title, outlet
    and date) and what its time words did; bad arguments raise a one-line RagError."""
    from ..search.pipeline import retrieve

    if not question.strip():
        raise RagError("the question is empty")
    found = retrieve(service.retriever(), question, k or service.settings.retrieve.k, mode=mode,
                     filters=Filters(source, since, until), as_of=parse_as_of(as_of))
    return {"passages": [{"n": i, **p.to_dict()} for i, p in enumerate(found.passages, start=1)],
            "time_scope": found.time_scope}
