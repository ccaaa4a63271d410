"""The UI's question runner and service additions, without a browser: stages, early evidence, a Stop that stops the
model, loading at start-up, deleting and re-reading documents, receipts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk

from rag.errors import RagError
from rag.index.backend import open_store
from rag.text import split_words
from rag.service import UPLOADS, RagService
from rag.ui.turns import Loader, Turn
from tests.fakes import FakeChatModel

from .conftest import CORPUS

ARMENIA = "002_838f15288c1da675.txt"
QUOTE = "Armenia, after the CSTO refused to help in the armed conflict with Azerbaijan last year"
REPLY = f'Armenia cancelled them because the CSTO refused to help [1].\nQuotes:\n[1] "{QUOTE}"'


class CountingModel(FakeChatModel):
    """Streams its reply one word per `delay` seconds and counts the words it produced."""

    delay: float = 0.0
    produced: int = 0

    def _stream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for word in split_words(self._next_reply(messages)):
            time.sleep(self.delay)
            self.produced += 1
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word))
            if run_manager:
                run_manager.on_llm_new_token(word, chunk=chunk)
            yield chunk


def _turn(service: RagService, question: str = "Armenia cancel CSTO exercises", loader: Loader | None = None) -> Turn:
    return Turn(lambda **callbacks: service.ask(question, **callbacks), loader).start()


def _wait(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_turn_reports_stages_in_order_and_evidence_before_the_text(seed_index, hash_embedder):
    seen: list[str] = []
    # 20 ms per word: the first word comes well after the evidence, so polling every 1 ms sees the evidence alone
    # (with no delay a busy machine could let a word through before the poll, and the test raced).
    service = RagService(seed_index, embedder=hash_embedder, llm=CountingModel([REPLY], delay=0.02))
    turn = _turn(service)
    while not turn.wait(0.001):
        if turn.evidence is not None and not seen:
            seen.append(f"evidence with {len(turn.text)} characters written")
    assert turn.answer is not None and turn.error is None and not turn.stopped
    assert [s for s, _ in turn.stages] == ["searching", "evidence", "writing", "checking", "done"]
    assert [t for _, t in turn.stages] == sorted(t for _, t in turn.stages)
    assert turn.evidence and all(c.method == "retrieved" and c.verified for c in turn.evidence)
    assert seen == ["evidence with 0 characters written"]
    assert turn.text.strip() == turn.answer.answer


@pytest.mark.parametrize("stop_after", ["Armenia", "Quotes"])  # while the answer streams, and during its quote block
def test_stop_stops_the_model_at_its_next_token(seed_index, hash_embedder, stop_after):
    words = split_words(REPLY)
    at = next(i for i, w in enumerate(words) if w.strip().startswith(stop_after)) + 1
    llm = CountingModel([REPLY, REPLY], delay=0.05)
    service = RagService(seed_index, embedder=hash_embedder, llm=llm)
    turn = _turn(service)
    _wait(lambda: llm.produced >= at)
    turn.stop()
    assert turn.wait(2)
    produced = llm.produced
    time.sleep(0.3)
    assert llm.produced == produced <= at + 1 < len(words)  # the stream was closed, not read to its end
    assert turn.stopped and turn.answer is None and turn.error is None
    assert turn.stage == "writing"
    assert service.ask("Armenia cancel CSTO exercises").citations[0].verified  # the model is free again


def test_stop_before_writing_never_calls_the_model(seed_index, hash_embedder):
    gate = threading.Event()
    llm = CountingModel([REPLY])
    service = RagService(seed_index, embedder=hash_embedder, llm=llm)

    def run(**callbacks):
        gate.wait(5)
        return service.ask("Armenia cancel CSTO exercises", **callbacks)

    turn = Turn(run).start()
    turn.stop()
    gate.set()
    assert turn.wait(5) and turn.stopped and llm.produced == 0 and not llm.calls


def test_a_failing_turn_keeps_one_readable_line(seed_index, hash_embedder):
    service = RagService(seed_index, embedder=hash_embedder, llm=CountingModel([]))
    turn = _turn(service)
    assert turn.wait(10) and turn.answer is None and not turn.stopped
    assert "no replies left" in turn.error and "\n" not in turn.error


def test_questions_wait_for_the_models_loading_at_start_up(seed_index, hash_embedder):
    release = threading.Event()
    service = RagService(seed_index, embedder=hash_embedder, llm=CountingModel([REPLY]))
    loader = Loader(lambda: (release.wait(5), service.load_models())[1]).start()
    turn = _turn(service, loader=loader)
    _wait(lambda: turn.stage == "loading")
    assert not loader.ready and loader.elapsed() >= 0
    release.set()
    assert turn.wait(10) and turn.answer is not None and loader.ready and loader.problem is None
    assert [s for s, _ in turn.stages][:2] == ["loading", "searching"]


def test_load_models_reports_a_missing_index_instead_of_raising(settings, hash_embedder):
    assert "no index" in RagService(settings, embedder=hash_embedder, llm=CountingModel([])).load_models()


def test_delete_removes_one_document_and_its_uploaded_copy(backend_seed, hash_embedder, tmp_path):
    service = RagService(backend_seed, embedder=hash_embedder, llm=CountingModel([]))
    note = tmp_path / "note.txt"
    note.write_text("Zebras graze near Almaty.", encoding="utf-8")
    service.upload([note])
    uploaded = backend_seed.index / UPLOADS / "note.txt"
    assert uploaded.exists() and len(service.documents()) == 6
    report = service.delete_document("note.txt")
    assert report.removed and report.documents == 5 and not uploaded.exists()
    report = service.delete_document(ARMENIA)  # a file outside the index folder stays on disk
    assert ARMENIA not in [d.source for d in service.documents()] and (CORPUS / ARMENIA).exists()
    assert all(p.source != ARMENIA for p in service.retriever().search("Armenia CSTO exercises", k=5))
    assert service.document(ARMENIA) is None
    with pytest.raises(RagError, match="not in the index"):
        service.delete_document(ARMENIA)


def test_a_document_is_deleted_and_another_shown(backend_seed, hash_embedder):
    service = RagService(backend_seed, embedder=hash_embedder, llm=CountingModel([]))
    gone = "001_8616b1cfa831146b.txt"
    assert service.delete_document(gone).documents == 4
    assert service.document(gone) is None and (CORPUS / gone).exists()
    row, original = service.document(ARMENIA)
    assert original == (CORPUS / ARMENIA).read_text(encoding="utf-8") and row.chars == len(original) and row.chunks


def test_the_last_document_cannot_be_deleted(backend_settings, hash_embedder, tmp_path):
    service = RagService(backend_settings, embedder=hash_embedder, llm=CountingModel([]))
    note = tmp_path / "only.txt"
    note.write_text("The only note.", encoding="utf-8")
    service.upload([note])
    with pytest.raises(RagError, match="last document"):
        service.delete_document("only.txt")


def test_reindex_reads_a_changed_file_again(backend_seed, hash_embedder, tmp_path):
    service = RagService(backend_seed, embedder=hash_embedder, llm=CountingModel([]))
    note = tmp_path / "note.txt"
    note.write_text("Forty zebras.", encoding="utf-8")
    service.upload([note])
    assert service.reindex_document("note.txt").unchanged == ["note.txt"]
    (backend_seed.index / UPLOADS / "note.txt").write_text("Sixty zebras graze.", encoding="utf-8")
    assert service.reindex_document("note.txt").updated == ["note.txt"]
    row, original = service.document("note.txt")
    assert "Sixty" in original and row.source == "note.txt" and row.path.endswith("note.txt") and row.chunks == 1
    assert service.document("missing.txt") is None


def test_a_receipt_is_written_for_an_answer(backend_seed, hash_embedder, tmp_path):
    service = RagService(backend_seed, embedder=hash_embedder, llm=CountingModel([REPLY]))
    answer = service.ask("Armenia cancel CSTO exercises")
    receipt = json.loads(service.write_receipt(answer, tmp_path / "r.json").read_text(encoding="utf-8"))
    assert receipt["question"] == answer.question and receipt["quotes"][0]["source"] == ARMENIA
    quote = receipt["quotes"][0]
    assert quote["path"] == str(CORPUS / ARMENIA) and len(quote["sha256"]) == 64
    with open_store(backend_seed) as store:
        assert receipt["index"]["generation"] == store.generation
