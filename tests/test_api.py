"""`rag serve` over real HTTP on 127.0.0.1: the official openai client and LangChain's ChatOpenAI, streaming,
plain endpoints, API key, size limit and the bounded queue (fake chat model, hash embedder)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from rag.service import RagService
from tests.fakes import FakeChatModel

from .conftest import HashEmbedder
from .test_answer import ARMENIA, ARMENIA_QUOTE, cite_where

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_asgi(app) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on a free loopback port; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _serve(service: RagService) -> Iterator[str]:
    """Run the API over `service`; yields its base URL."""
    from rag.api.server import create_app

    yield from serve_asgi(create_app(service))


@pytest.fixture
def service(seed_index) -> RagService:
    return RagService(seed_index, embedder=HashEmbedder(), llm=FakeChatModel(cite_where("CSTO refused", ARMENIA_QUOTE)))


@pytest.fixture
def base_url(service) -> Iterator[str]:
    yield from _serve(service)


def test_openai_client_gets_the_answer_and_citations(base_url) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{base_url}/v1", api_key="unused")
    reply = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": ARMENIA}])
    assert "CSTO refused to help Armenia" in reply.choices[0].message.content
    extra = reply.model_extra["rag"]
    [citation] = extra["citations"]
    assert citation["verified"] and citation["quote"] == ARMENIA_QUOTE and citation["source"].startswith("002_")
    assert extra["refused"] is False and extra["evidence"]


def test_openai_client_streams_the_checked_answer_then_citations(base_url) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{base_url}/v1", api_key="unused")
    chunks = list(client.chat.completions.create(model="rag", stream=True,
                                                 messages=[{"role": "user", "content": ARMENIA}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("The CSTO refused to help Armenia")
    extras = [c.model_extra.get("rag") for c in chunks if c.model_extra.get("rag")]
    assert "evidence" in extras[0] and extras[-1]["citations"][0]["verified"]
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_langchain_chat_openai_streams_through_it(base_url) -> None:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="rag", base_url=f"{base_url}/v1", api_key="unused")
    text = "".join(chunk.text for chunk in model.stream(ARMENIA))
    assert "CSTO refused to help Armenia" in text
    assert "CSTO refused to help Armenia" in model.invoke(ARMENIA).text


def test_plain_endpoints(base_url) -> None:
    health = httpx.get(f"{base_url}/health").json()
    assert health["status"] == "ok" and health["documents"] == 5
    found = httpx.post(f"{base_url}/v1/search", json={"question": ARMENIA, "k": 2}).json()["passages"]
    assert len(found) == 2 and found[0]["n"] == 1
    asked = httpx.post(f"{base_url}/v1/ask", json={"question": ARMENIA}).json()
    assert asked["citations"][0]["verified"] and not asked["refused"]
    assert "/v1/chat/completions" in httpx.get(f"{base_url}/openapi.json").json()["paths"]
    bad = httpx.post(f"{base_url}/v1/ask", json={"question": "  "})
    assert bad.status_code == 400 and "empty" in bad.json()["error"]["message"]


def test_upload_lands_in_the_index_and_refuses_bad_names(base_url, tmp_path) -> None:
    files = [("files", ("../../evil.txt", b"The harbour of Aktau was dredged in 2021 by a Dutch firm.")),
             ("files", ("tool.exe", b"MZ binary"))]
    result = httpx.post(f"{base_url}/v1/documents", files=files).json()
    assert result["added"] and [r["name"] for r in result["rejected"]] == ["tool.exe"]
    sources = [d["source"] for d in httpx.get(f"{base_url}/v1/documents").json()["documents"]]
    assert any(s.endswith("evil.txt") for s in sources) and not any(".." in s for s in sources)


def test_api_key_and_size_limit(seed_index) -> None:
    seed_index.serve.api_key = "s3cret"
    seed_index.serve.max_request_kb = 1
    service = RagService(seed_index, embedder=HashEmbedder(), llm=FakeChatModel([]))
    for url in _serve(service):
        assert httpx.get(f"{url}/v1/models").status_code == 401
        ok = httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and ok.json()["data"][0]["id"] == "rag"
        big = httpx.post(f"{url}/v1/search", json={"question": "x" * 5000},
                         headers={"Authorization": "Bearer s3cret"})
        assert big.status_code == 413


def test_a_full_queue_answers_503_with_retry_after(seed_index) -> None:
    release = threading.Event()

    def slow(messages):
        release.wait(20)
        return "The CSTO refused to help [1]."

    seed_index.serve.queue = 0  # one answer at a time, nobody waiting
    service = RagService(seed_index, embedder=HashEmbedder(), llm=FakeChatModel(slow))
    for url in _serve(service):
        first = threading.Thread(target=lambda: httpx.post(f"{url}/v1/ask", json={"question": ARMENIA}, timeout=30))
        first.start()
        time.sleep(0.5)
        busy = httpx.post(f"{url}/v1/ask", json={"question": ARMENIA}, timeout=30)
        release.set()
        first.join(30)
        assert busy.status_code == 503 and busy.headers["retry-after"].isdigit()
        assert httpx.post(f"{url}/v1/ask", json={"question": ARMENIA}, timeout=30).status_code == 200


def test_concurrent_questions_all_get_their_answers(base_url) -> None:
    results: list[int] = []

    def one() -> None:
        results.append(httpx.post(f"{base_url}/v1/ask", json={"question": ARMENIA}, timeout=60).status_code)

    threads = [threading.Thread(target=one) for _ in range(4)]  # 1 answering + 4 queued places by default
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [200, 200, 200, 200]


def test_serving_beyond_loopback_needs_a_key() -> None:
    from rag.api.server import check_exposure
    from rag.errors import RagError

    check_exposure("127.0.0.1", None)
    check_exposure("localhost", None)
    check_exposure("0.0.0.0", "key")
    with pytest.raises(RagError, match="RAG_SERVE__API_KEY"):
        check_exposure("0.0.0.0", None)
