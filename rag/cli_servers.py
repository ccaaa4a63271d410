"""The `rag` commands that start a server: `rag ui` (Gradio), `rag serve` (HTTP API), `rag mcp` (Model Context
Protocol). Registered on the app in cli.py; each imports its server's libraries only when run."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .cli_options import IndexOpt, settings as _settings
from .errors import RagError


def ui(
    host: Annotated[Optional[str], typer.Option("--host", help="Interface (env GRADIO_SERVER_NAME; default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="Port (env GRADIO_SERVER_PORT; default 7860).")] = None,
    share: Annotated[bool, typer.Option("--share", help="Also open a public gradio.live link.")] = False,
    index_dir: IndexOpt = None,
) -> None:
    """Start the web UI (chat with cited answers, sources, uploads)."""
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise RagError("the web UI needs gradio: pip install 'rag[ui]'") from None
    from .ui.app import main as ui_main

    ui_main(host=host, port=port, share=share, index=index_dir)


def serve(
    host: Annotated[Optional[str], typer.Option("--host", help="Interface [env: RAG_SERVE__HOST; default 127.0.0.1].")] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="Port [env: RAG_SERVE__PORT; default 8000].")] = None,
    index_dir: IndexOpt = None,
) -> None:
    """Serve the HTTP API: OpenAI-compatible /v1/chat/completions with citations, /v1/search, /v1/ask, /docs."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise RagError("rag serve needs fastapi and uvicorn: pip install 'rag[serve]'") from None
    from .api.server import check_exposure, serve as run_server
    from .service import RagService

    settings = _settings(index=index_dir, **{"serve.host": host, "serve.port": port})
    check_exposure(settings.serve.host, settings.serve.api_key)
    service = RagService(settings)
    problem = service.warm_up()
    if problem:
        typer.secho(f"note: {problem}", err=True)
    typer.echo(f"rag API on http://{settings.serve.host}:{settings.serve.port} (docs at /docs)", err=True)
    run_server(service, settings.serve.host, settings.serve.port)


def mcp(
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio.")] = False,
    host: Annotated[Optional[str], typer.Option("--host", help="Interface for --http [env: RAG_SERVE__HOST; default 127.0.0.1].")] = None,
    port: Annotated[int, typer.Option("--port", help="Port for --http.")] = 8765,
    index_dir: IndexOpt = None,
) -> None:
    """Serve rag to MCP clients (Claude Desktop, VS Code, Cursor): tools search, ask, list_documents, get_passage,
    open_document; documents as resources. Over stdio unless --http."""
    try:
        import mcp as _sdk  # noqa: F401
    except ImportError:
        raise RagError("rag mcp needs the MCP SDK: pip install 'rag[mcp]'") from None
    from .api.mcp_server import run
    from .api.server import check_exposure
    from .service import RagService

    settings = _settings(index=index_dir, **{"serve.host": host})
    if http:
        check_exposure(settings.serve.host, settings.serve.api_key)
    service = RagService(settings)
    if problem := service.warm_up():
        typer.secho(f"note: {problem}", err=True)  # stderr: stdout carries the protocol
    if http:
        typer.echo(f"rag MCP server on http://{settings.serve.host}:{port}/mcp", err=True)
    run(service, http=http, host=settings.serve.host, port=port, api_key=settings.serve.api_key)
