"""`rag mcp` driven by the MCP SDK's own client: in process and over streamable HTTP on 127.0.0.1 (fake chat
model, hash embedder), and over stdio as a real `rag mcp` process on an index of the sample corpus."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from rag.service import RagService
from tests.fakes import FakeChatModel

from .conftest import CORPUS, HashEmbedder
from .test_answer import ARMENIA, ARMENIA_QUOTE, cite_where
from .test_api import serve_asgi

pytest.importorskip("mcp")
TOOLS = {"search", "ask", "list_documents", "get_passage", "open_document"}
OFF_TOPIC = "What is the boiling point of mercury in kelvin?"


def run(server: Any, work: Any) -> Any:
    """Connect the SDK's Client to `server` (an MCPServer, a URL or a transport) and return await work(client)."""
    from mcp import Client

    async def main() -> Any:
        async with Client(server) as client:
            return await work(client)

    return anyio.run(main)


def structured(result: Any) -> dict[str, Any]:
    """A tool result's structured content (the SDK wraps a non-object return under 'result')."""
    assert not result.is_error, result.content[0].text
    return result.structured_content


@pytest.fixture
def service(seed_index) -> RagService:
    return RagService(seed_index, embedder=HashEmbedder(), llm=FakeChatModel(cite_where("CSTO refused", ARMENIA_QUOTE)))


@pytest.fixture
def server(service):
    from rag.api.mcp_server import create_server

    return create_server(service)


def test_the_tools_are_listed_with_their_arguments(server):
    tools = run(server, lambda c: c.list_tools()).tools
    assert {t.name for t in tools} == TOOLS
    ask = next(t for t in tools if t.name == "ask")
    assert ask.input_schema["required"] == ["question"] and "as_of" in ask.input_schema["properties"]
    assert all(t.description for t in tools)


def test_ask_gives_the_checked_answer_structured_and_readable(server):
    result = run(server, lambda c: c.call_tool("ask", {"question": ARMENIA}))
    answer = structured(result)
    assert not answer["refused"] and "CSTO refused to help Armenia" in answer["answer"]
    [citation] = answer["citations"]
    assert citation["verified"] and citation["quote"] == ARMENIA_QUOTE and citation["source"].startswith("002_")
    assert answer["claims"] and all(c["supported"] for c in answer["claims"])
    text = result.content[0].text
    assert "CSTO refused to help Armenia" in text and ARMENIA_QUOTE in text  # the Markdown a person reads


def test_a_quote_is_shown_in_place_by_its_offsets(server, service):
    def work(client):
        async def go():
            answer = structured(await client.call_tool("ask", {"question": ARMENIA}))
            c = answer["citations"][0]
            return c, structured(await client.call_tool("get_passage", {"source": c["source"], "start": c["start"],
                                                                       "end": c["end"], "context": 40}))
        return go()

    citation, span = run(server, work)
    original = service.document(citation["source"])[1]
    assert span["text"] == original[citation["start"]:citation["end"]] == citation["quote"]
    assert span["before"] == original[citation["start"] - 40:citation["start"]]


def test_search_documents_and_resources(server):
    async def go(client):
        found = structured(await client.call_tool("search", {"query": ARMENIA, "k": 3}))
        docs = structured(await client.call_tool("list_documents", {}))
        listed = await client.list_resources()
        first = next(r for r in listed.resources if r.name == docs["documents"][0]["source"])
        read = await client.read_resource(str(first.uri))
        opened = structured(await client.call_tool("open_document", {"source": first.name}))
        return found, docs, listed, read, opened

    found, docs, listed, read, opened = run(server, go)
    passages = found["passages"]
    assert len(passages) == 3 and passages[0]["n"] == 1
    assert any("CSTO" in p["text"] for p in passages) and all(p["end"] > p["start"] for p in passages)
    assert len(docs["documents"]) == 5 and len(listed.resources) == 5
    assert read.contents[0].text == opened["text"] and len(opened["text"]) == opened["chars"]


def test_bad_arguments_and_unknown_documents_are_one_line_tool_errors(server):
    async def go(client):
        return [await client.call_tool(name, args) for name, args in [
            ("search", {"query": ARMENIA, "k": 0}),
            ("search", {"query": "   "}),
            ("ask", {"question": ARMENIA, "as_of": "next tuesday-ish"}),
            ("get_passage", {"source": "nope.txt", "start": 0, "end": 5}),
            ("get_passage", {"source": "002_838f15288c1da675.txt", "start": 10, "end": 10**9}),
            ("search", {"query": ARMENIA, "k": "many"}),
        ]]

    results = run(server, go)
    assert all(r.is_error for r in results)
    texts = [r.content[0].text for r in results]
    assert all("\n" not in t and "Traceback" not in t for t in texts)
    assert "k must be between" in texts[0] and "empty" in texts[1] and "YYYY-MM-DD" in texts[2]
    assert "not in the index" in texts[3] and "outside" in texts[4]
    assert "bad arguments for search: k: " in texts[5] and "integer" in texts[5]


def _serve_http(service: RagService, api_key: str | None) -> Iterator[str]:
    """The MCP server's streamable-HTTP app on a free loopback port; yields its /mcp URL."""
    from rag.api.mcp_server import http_app

    server = serve_asgi(http_app(service, "127.0.0.1", api_key))
    try:
        yield f"{next(server)}/mcp"
    finally:
        server.close()  # stops uvicorn


def test_streamable_http_on_loopback_with_the_api_key(service):
    import httpx
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    for url in _serve_http(service, "s3cret"):
        refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert refused.status_code == 401 and "RAG_SERVE__API_KEY" in refused.text
        transport = streamable_http_client(url, http_client=httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret"}))

        async def go(client):
            return await client.list_tools(), await client.call_tool("ask", {"question": ARMENIA})

        tools, asked = run(transport, go)
        assert {t.name for t in tools.tools} == TOOLS
        assert structured(asked)["citations"][0]["verified"]


@pytest.mark.integration
def test_a_real_rag_mcp_process_over_stdio(tmp_path):
    """The README's client config, run: `rag mcp --index INDEX` over stdio on an index of the sample corpus with
    the real embedder, judge and local model. Tools, a search, a checked and cited answer, a refusal by the judge
    gate before any model runs, and a bad argument."""
    from mcp import StdioServerParameters

    rag = Path(sys.executable).parent / "rag"
    index = tmp_path / "index"
    built = subprocess.run([str(rag), "index", str(CORPUS), "--index", str(index), "--json"], capture_output=True,
                           text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    params = StdioServerParameters(command=str(rag), args=["mcp", "--index", str(index)])  # as in the README

    async def go(client):
        return (await client.list_tools(), await client.call_tool("search", {"query": ARMENIA, "k": 2}),
                await client.call_tool("ask", {"question": ARMENIA}),
                await client.call_tool("ask", {"question": OFF_TOPIC}),
                await client.call_tool("get_passage", {"source": "missing.txt", "start": 0, "end": 1}))

    tools, found, answered, refused, bad = run(params, go)
    assert {t.name for t in tools.tools} == TOOLS
    assert any("CSTO" in p["text"] for p in structured(found)["passages"])
    answer = structured(answered)
    assert not answer["refused"] and answer["citations"] and all(c["verified"] for c in answer["citations"])
    assert any(c["source"].startswith("002_") for c in answer["citations"])  # the article that says why
    assert "[1]" in answer["answer"] or "[2]" in answer["answer"]
    declined = structured(refused)
    assert declined["refused"] and declined["citations"] == [] and declined["refusal_reason"]
    assert bad.is_error and "not in the index" in bad.content[0].text
    assert json.loads(json.dumps(answer))  # plain JSON all the way

def test_rag_mcp_refuses_to_listen_beyond_loopback_without_a_key(seed_index, monkeypatch):
    from typer.testing import CliRunner

    from rag.cli import app

    monkeypatch.delenv("RAG_SERVE__API_KEY", raising=False)
    result = CliRunner().invoke(app, ["mcp", "--http", "--host", "0.0.0.0", "--index", str(seed_index.index)])
    assert result.exit_code != 0 and "RAG_SERVE__API_KEY" in str(result.exception)
