"""`rag mcp`: the assistant as a Model Context Protocol server, built on the official `mcp` SDK (MCPServer).

Tools: `search` (passages with source, offsets, title, outlet, date), `ask` (the checked answer: citations with
verified quotes, claim verdicts, refusal, as-of; structured, with readable Markdown beside it),
`list_documents`, `get_passage` (the exact span of a source, with a little context, so a client can show a quote
in place) and `open_document`. Every indexed document is also a resource, `rag://documents/<source>`.
A RagError becomes an MCP tool error carrying its one line, never a traceback. Over stdio by default; `--http`
serves streamable HTTP, on loopback unless an API key (RAG_SERVE__API_KEY) guards it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import CallToolResult, Resource, TextContent
from pydantic import ValidationError

from .. import __version__
from ..errors import RagError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from ..service import RagService
    from ..types import DocumentRow

DOCUMENT_URI = "rag://documents/{source}"
CONTEXT_CHARS = 200  # characters shown on each side of a span by get_passage
MAX_DOCUMENT_CHARS = 200_000  # open_document returns at most this much; get_passage reaches the rest
INSTRUCTIONS = (
    "Answers from the user's own documents. Use `ask` for a checked answer: every claim cites a verbatim quote "
    "whose character offsets into the source are verified, and the answer says plainly when the documents do not "
    "answer. Use `search` to see the passages a question retrieves, `get_passage` to show a quote in its source, "
    "`list_documents` to see what is indexed. `as_of` (YYYY-MM-DD) asks from a day in the past."
)


def create_server(service: RagService) -> MCPServer:
    """The MCP server over one shared RagService (models and index loaded once, as for `rag serve`)."""

    class RagMCPServer(MCPServer):
        """Lists the index's documents as resources, as they are now (the index may change while it runs)."""

        async def list_resources(self) -> list[Resource]:
            import anyio

            rows = await anyio.to_thread.run_sync(service.documents)
            listed = [Resource(uri=DOCUMENT_URI.format(source=quote(row.source, safe="")), name=row.source,
                               title=row.title or None, mime_type="text/plain",
                               description=" · ".join(x for x in (row.date, row.outlet) if x) or None)
                      for row in rows]
            return [*await super().list_resources(), *listed]

        async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
            try:
                return await super().call_tool(name, arguments, context)
            except ToolError as exc:
                if isinstance(exc.__cause__, ValidationError):  # pydantic's many lines, as one
                    raise ToolError(f"bad arguments for {name}: {one_line(exc.__cause__)}") from exc.__cause__
                raise

    server = RagMCPServer("rag", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING")
    _add_tools(server, service)

    @server.resource(DOCUMENT_URI, name="document", mime_type="text/plain",
                     description="An indexed document's original text, as its quotes' offsets count it.")
    def document(source: str) -> str:
        found = service.document(unquote(source))
        if found is None:
            raise ResourceNotFoundError(f"{unquote(source)} is not in the index: list_documents names what is")
        return found[1]

    return server


def _add_tools(server: MCPServer, service: RagService) -> None:
    """Register the tools; each turns a RagError into a tool error with its one line."""

    @server.tool()
    def search(query: str, k: int = 5, source: str | None = None, since: str | None = None,
               until: str | None = None, as_of: str | None = None) -> dict[str, Any]:
        """Passages from the user's documents that best match `query`, best first, each with its source file,
        character offsets into the original text, title, outlet and date. `source` keeps one file; `since` and
        `until` (YYYY-MM-DD) keep a date range; `as_of` reads nothing published after that day."""
        from .common import search as search_passages

        if not 1 <= k <= 50:
            raise ToolError("k must be between 1 and 50")
        return _guarded(lambda: search_passages(service, query, k, None, source, since, until, as_of))

    @server.tool()
    def ask(question: str, as_of: str | None = None) -> CallToolResult:
        """A checked answer from the user's documents: inline [n] citations, each backed by a verbatim quote whose
        offsets in the source are verified, a verdict on every claim, and a plain refusal when the documents do
        not answer. `as_of` (YYYY-MM-DD) asks from that day: nothing published after it is read."""
        from ..search.filters import parse_as_of
        from ..terminal import markdown

        answer = _guarded(lambda: service.ask(question, as_of=parse_as_of(as_of)))
        return CallToolResult(content=[TextContent(type="text", text=markdown(answer))],
                              structured_content=answer.to_dict())

    @server.tool()
    def list_documents() -> dict[str, Any]:
        """The indexed documents: source, title, date, outlet, url, passages and any flag for text written to
        steer an assistant."""
        return {"documents": [row.to_dict() for row in _guarded(service.documents)]}

    @server.tool()
    def get_passage(source: str, start: int, end: int, context: int = CONTEXT_CHARS) -> dict[str, Any]:
        """The exact text of `source` between character offsets `start` and `end` (as search and ask give them),
        with up to `context` characters before and after, so a quote can be shown in place."""
        original = _document(service, source)[1]
        if not 0 <= start < end <= len(original):
            raise ToolError(f"offsets {start}-{end} are outside {source}, which has {len(original)} characters")
        context = max(0, min(context, 2000))
        return {"source": source, "start": start, "end": end, "text": original[start:end],
                "before": original[max(0, start - context):start], "after": original[end:end + context]}

    @server.tool()
    def open_document(source: str) -> dict[str, Any]:
        """An indexed document: its listing row and its original text (the first 200,000 characters; offsets
        count from its start, and get_passage reaches any span)."""
        row, original = _document(service, source)
        return {**row.to_dict(), "text": original[:MAX_DOCUMENT_CHARS], "truncated": len(original) > MAX_DOCUMENT_CHARS}


def one_line(error: ValidationError) -> str:
    """'k: Input should be a valid integer; query: Field required' from a pydantic validation error."""
    return "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors())


def _guarded(call: Callable[[], Any]) -> Any:
    """call(), with a RagError turned into a tool error carrying its one line (no traceback reaches the client)."""
    try:
        return call()
    except RagError as exc:
        raise ToolError(str(exc)) from None


def _document(service: RagService, source: str) -> tuple[DocumentRow, str]:
    """A document's listing row and original text, or a tool error naming what to do."""
    found = _guarded(lambda: service.document(source))
    if found is None:
        raise ToolError(f"{source} is not in the index: list_documents names what is")
    return found


class BearerKey:
    """ASGI middleware: every request must carry `Authorization: Bearer <key>` (rag serve's API key)."""

    def __init__(self, app: ASGIApp, key: str):
        self.app, self.key = app, key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        import secrets

        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
            token = given[7:] if given.lower().startswith("bearer ") else ""
            if not secrets.compare_digest(token.encode(), self.key.encode()):
                from starlette.responses import PlainTextResponse

                response = PlainTextResponse("missing or wrong API key: send Authorization: Bearer "
                                             "<RAG_SERVE__API_KEY>", status_code=401)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def http_app(service: RagService, host: str, api_key: str | None) -> ASGIApp:
    """The streamable-HTTP app at /mcp, behind the API key when one is set."""
    app = create_server(service).streamable_http_app(host=host)
    return BearerKey(app, api_key) if api_key else app


def run(service: RagService, http: bool = False, host: str = "127.0.0.1", port: int = 8765,
        api_key: str | None = None) -> None:
    """Serve over stdio, or streamable HTTP at http://host:port/mcp (blocks)."""
    if not http:
        create_server(service).run("stdio")
        return
    import uvicorn

    uvicorn.run(http_app(service, host, api_key), host=host, port=port, log_level="warning")
