"""One retrieval path: a time-worded question retrieves the same passages, in the same order, through every face:
`rag search --json`, `Assistant.ask`, the API's /v1/search, /v1/ask and chat completions, the MCP server's search
and ask tools, and evaluation's retrieval metrics (news corpus, hash embedder, fake chat model)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rag.answer.assistant import Assistant
from rag.cli import app
from rag.eval.gold import GoldItem
from rag.eval.runner import EvalOptions, Evaluator
from rag.search.retriever import Retriever
from rag.service import RagService
from tests.fakes import FakeChatModel

from .conftest import HashEmbedder

# "latest" boosts newer sources, "in 2024" keeps the 2023 dam story out: both change what plain search returns.
QUESTION = "What is the latest on the Valdoria floods in 2024?"
K = 4  # answer.passages, the passages an answer shows


def spans(passages: list[dict]) -> list[tuple[str, int, int]]:
    """(source, start, end) of passages in JSON form, in order."""
    return [(p["source"], p["start"], p["end"]) for p in passages]


def cli_search(monkeypatch, settings) -> list[tuple[str, int, int]]:
    monkeypatch.setattr("rag.index.embed.get_embedder", lambda *a, **k: HashEmbedder())
    out = CliRunner().invoke(app, ["search", QUESTION, "--json", "-k", str(K), "--index", str(settings.index)])
    assert out.exit_code == 0, out.output
    return spans(json.loads(out.stdout)["passages"])


def assistant_ask(settings) -> list[tuple[str, int, int]]:
    retriever = Retriever(settings, embedder=HashEmbedder())
    result = Assistant(settings, retriever=retriever, llm=FakeChatModel("Nothing to cite.")).ask(QUESTION)
    assert result.time_scope and result.time_scope["recent"] and result.time_scope["since"] == "2024-01-01"
    return spans([p.to_dict() for p in result.passages])


def api_faces(settings) -> dict[str, list[tuple[str, int, int]]]:
    from fastapi.testclient import TestClient

    from rag.api.server import create_app

    service = RagService(settings, embedder=HashEmbedder(), llm=FakeChatModel(lambda messages: "Nothing to cite."))
    client = TestClient(create_app(service))
    search = client.post("/v1/search", json={"question": QUESTION, "k": K}).json()
    ask = client.post("/v1/ask", json={"question": QUESTION}).json()
    chat = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}).json()
    return {"api search": spans(search["passages"]), "api ask": spans(ask["passages"]),
            "api chat": spans(chat["rag"]["passages"])}


def mcp_faces(settings) -> dict[str, list[tuple[str, int, int]]]:
    pytest.importorskip("mcp")
    from rag.api.mcp_server import create_server
    from tests.test_mcp import run, structured

    service = RagService(settings, embedder=HashEmbedder(), llm=FakeChatModel(lambda messages: "Nothing to cite."))

    async def go(client):
        return (structured(await client.call_tool("search", {"query": QUESTION, "k": K})),
                structured(await client.call_tool("ask", {"question": QUESTION})))

    search, ask = run(create_server(service), go)
    return {"mcp search": spans(search["passages"]), "mcp ask": spans(ask["passages"])}


def eval_retrieval(settings) -> list[tuple[str, int, int]]:
    evaluator = Evaluator(settings, Retriever(settings, embedder=HashEmbedder()),
                          options=EvalOptions(k=K, retrieval_only=True))
    row = evaluator.score(GoldItem(id="q1", question=QUESTION, answers=["57"]))
    return spans(row["retrieved"])[:K]  # eval looks 10 deep for @10 metrics; its top k is what an answer shows


def test_a_time_worded_question_retrieves_the_same_passages_through_every_face(news_index, monkeypatch) -> None:
    assert news_index.answer.passages == K
    faces = {"rag search": cli_search(monkeypatch, news_index), "Assistant.ask": assistant_ask(news_index),
             **api_faces(news_index), **mcp_faces(news_index), "eval": eval_retrieval(news_index)}
    expected = faces["Assistant.ask"]
    assert expected and all(source != "herald-dam.txt" for source, _, _ in expected)  # 2023: outside "in 2024"
    assert {face: found for face, found in faces.items() if found != expected} == {}, expected


def test_k_only_cuts_the_ranking(news_index) -> None:
    """A face that shows fewer passages shows the first ones of a deeper look, for time-worded questions too."""
    from rag.search.pipeline import RECENT_POOL, retrieve

    retriever = Retriever(news_index, embedder=HashEmbedder())
    for question in (QUESTION, "What is the latest death toll?", "How many people died?"):
        deep = [(p.source, p.start) for p in retrieve(retriever, question, RECENT_POOL + 5).passages]
        for k in (1, 2, 3, 5):
            assert [(p.source, p.start) for p in retrieve(retriever, question, k).passages] == deep[:k]


@pytest.mark.parametrize("question", ["What happened in the Valdoria floods?"])
def test_a_question_without_time_words_is_plain_search(news_index, question: str) -> None:
    from rag.search.pipeline import retrieve

    retriever = Retriever(news_index, embedder=HashEmbedder())
    found = retrieve(retriever, question, K)
    assert found.time_scope is None
    assert [p.chunk_id for p in found.passages] == [p.chunk_id for p in retriever.search(question, k=K)]


def test_one_follow_up_rule_for_the_api_chat_and_ui(news_index) -> None:
    """The API condenses as chat and the UI do: a follow-up with the conversation (roles kept), a question that
    stands on its own not at all."""
    from fastapi.testclient import TestClient

    from rag.api.server import create_app

    condensed = "How many people left their homes in the Valdoria floods?"
    llm = FakeChatModel(lambda messages: condensed if "Last message" in messages[-1].text else "Nothing to cite.")
    client = TestClient(create_app(RagService(news_index, embedder=HashEmbedder(), llm=llm)))
    earlier = [{"role": "user", "content": "How many people died in the Valdoria floods?"},
               {"role": "assistant", "content": "57 people died [1]."}]
    follow_up = client.post("/v1/chat/completions", json={
        "messages": [*earlier, {"role": "user", "content": "And how many left their homes?"}]}).json()
    assert follow_up["rag"]["standalone_question"] == condensed
    prompt = llm.calls[0][-1].text
    assert "User: How many people died in the Valdoria floods?" in prompt and "Assistant: 57 people died" in prompt
    llm.calls.clear()
    fresh = client.post("/v1/ask", json={"question": "Why did the Lenta river flood?",
                                         "history": [[m["role"], m["content"]] for m in earlier]}).json()
    assert fresh["standalone_question"] is None and len(llm.calls) == 1  # the answer only, no condense call
