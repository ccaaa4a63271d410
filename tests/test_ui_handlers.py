"""The UI's event handlers in-process (gradio imported, no browser): a question's updates, Stop, one question per tab."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("gradio")

from rag.ui.handlers import Handlers, new_session  # noqa: E402
from rag.service import RagService  # noqa: E402
from tests.fakes import FakeChatModel  # noqa: E402
from tests.test_ui_turns import REPLY, CountingModel  # noqa: E402

QUESTION = "Armenia cancel CSTO exercises"


def _handlers(seed_index, hash_embedder, llm) -> Handlers:
    return Handlers(RagService(seed_index, embedder=hash_embedder, llm=llm))


def test_a_question_streams_progress_then_the_checked_answer_sources_and_downloads(seed_index, hash_embedder):
    h = _handlers(seed_index, hash_embedder, CountingModel([REPLY], delay=0.01))
    chat, box, session, ask, stop = h.queue_question(QUESTION, [], new_session())
    assert box == "" and chat[-1]["role"] == "assistant" and "Starting" in chat[-1]["content"]
    assert ask["visible"] is False and stop["visible"] is True
    updates, shown = [], ""
    for update in h.respond(chat, session):  # the chat list is updated in place: read each bubble as it comes
        updates.append(update)
        shown += update[0][-1]["content"]
    assert "Searched" in shown and "passages found" in shown and "Writing" in shown
    assert any(isinstance(u[1], str) and "rag-early" in u[1] for u in updates[:-1])  # evidence before the end
    chat, sources, session, ask, stop, export, receipt = updates[-1]
    assert "rag-footer" in chat[-1]["content"] and 'id="src-1-1"' in sources and "rag-early" not in sources
    assert len(session["answers"]) == 1 and ask["visible"] and not stop["visible"]
    assert export["value"].endswith(".md") and receipt["value"].endswith(".json")
    assert not h.turns and not h.busy


def test_stop_from_the_handler_ends_the_turn_and_frees_the_tab(seed_index, hash_embedder):
    llm = CountingModel([REPLY, REPLY], delay=0.05)
    h = _handlers(seed_index, hash_embedder, llm)
    chat, _, session, _, _ = h.queue_question(QUESTION, [], new_session())
    updates = h.respond(chat, session)
    while llm.produced < 3:
        next(updates)
    h.stop(session)
    last = list(updates)[-1]
    assert "Stopped: generation was cancelled" in last[0][-1]["content"] and last[2]["answers"] == []
    produced = llm.produced
    time.sleep(0.2)
    assert llm.produced == produced and not h.busy
    chat, _, session, _, _ = h.queue_question(QUESTION, last[0], last[2])
    assert "rag-footer" in list(h.respond(chat, session))[-1][0][-1]["content"]


@pytest.mark.filterwarnings("ignore:Wait for the answer")
def test_a_second_question_while_one_runs_is_refused(seed_index, hash_embedder):
    h = _handlers(seed_index, hash_embedder, CountingModel([REPLY]))
    chat, _, session, _, _ = h.queue_question(QUESTION, [], new_session())
    again = h.queue_question("Another?", chat, session)
    assert again[2]["pending"] is None and again[0] == {"__type__": "update"}
    assert [u == {"__type__": "update"} for u in next(h.respond(chat, again[2]))] == [True] * 7
    assert "rag-footer" in list(h.respond(chat, session))[-1][0][-1]["content"]


def test_document_view_takes_the_browsers_argument_list(seed_index, hash_embedder):
    h = _handlers(seed_index, hash_embedder, CountingModel([]))
    view = h.document_view(["002_838f15288c1da675.txt", 10, 20])
    assert 'id="rag-doc-quote"' in view and "Putin is losing influence" in view
    assert "⚠️" in h.document_view("nonsense")


def test_the_status_line_follows_an_index_that_changes_underneath(seed_index, hash_embedder, tmp_path):
    """Once loaded, the timer keeps ticking, and each tick re-reads the document count (rag index --watch)."""
    from rag.index.build import index_paths

    h = _handlers(seed_index, hash_embedder, FakeChatModel([]))
    assert "5 documents" in h.tick()[0]
    extra = tmp_path / "extra.txt"
    extra.write_text("The harbour bridge opens in May, the council said.\n", encoding="utf-8")
    index_paths([extra], seed_index, hash_embedder)
    status, timer = h.tick()
    assert "6 documents" in status and timer.active is not False
