"""`rag serve`: a FastAPI app over one shared RagService (models and index loaded once, one answer at a time).

Endpoints: OpenAI-compatible `POST /v1/chat/completions` (and `GET /v1/models`), plus `/v1/search`, `/v1/ask`,
`/v1/documents` (list, upload), `/health` and `/version`; OpenAPI docs at `/docs`. A bounded queue sits in front
of the model: when it is full the answer is a 503 with Retry-After, never a hang.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, File, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from .. import __version__
from ..answer.followup import role_turns
from ..errors import RagError
from ..search.filters import parse_as_of
from ..types import Answer
from . import openai_format as fmt
from .common import AS_OF_HELP, search as search_passages

if TYPE_CHECKING:
    from ..service import RagService

RETRY_AFTER_SECONDS = 15


class ChatRequest(BaseModel):
    """The part of OpenAI's chat-completion request rag uses (other fields are accepted and ignored)."""

    model: str = fmt.MODEL_NAME
    messages: list[dict[str, Any]]
    stream: bool = False
    as_of: str | None = Field(None, description=AS_OF_HELP)


class SearchRequest(BaseModel):
    """A search: the question and how many passages."""

    question: str
    k: int | None = Field(None, ge=1, le=100, description="passages returned (default: the retrieve.k setting, 5)")
    mode: str | None = None
    source: str | None = None
    since: str | None = None
    until: str | None = None
    as_of: str | None = Field(None, description=AS_OF_HELP)


class AskRequest(BaseModel):
    """A question, with earlier turns for follow-ups."""

    question: str
    history: list[tuple[str, str]] = Field(default_factory=list, description="(role, text) pairs, oldest first")
    as_of: str | None = Field(None, description=AS_OF_HELP)


class Gate:
    """Admits one answer at a time plus `waiting` queued ones; refuses the rest at once."""

    def __init__(self, waiting: int):
        self._slots = threading.BoundedSemaphore(waiting + 1)

    def enter(self) -> None:
        """Take a place, or raise a 503 that tells the client when to retry."""
        if not self._slots.acquire(blocking=False):
            raise HTTPException(503, "the model is busy and the queue is full: retry later",
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    def leave(self) -> None:
        """Give the place back."""
        self._slots.release()


def create_app(service: RagService) -> FastAPI:
    """The API app bound to a service."""
    settings = service.settings.serve
    app = FastAPI(title="rag", version=__version__, description=__doc__)
    gate = Gate(settings.queue)
    auth = _auth_dependency(settings.api_key)
    _add_limits(app, settings.max_request_kb * 1024, service.settings.ui.max_upload_mb * 1024 * 1024)

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        return JSONResponse({"error": {"message": str(exc), "type": type(exc).__name__}}, status_code=400)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "index": str(service.settings.index), "documents": len(service.documents()),
                "model": service.model_label()}

    @app.get("/version")
    def version() -> dict[str, str]:
        return {"version": __version__}

    @app.get("/v1/models", dependencies=[Depends(auth)])
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": fmt.MODEL_NAME, "object": "model", "owned_by": "rag"}]}

    @app.post("/v1/chat/completions", dependencies=[Depends(auth)])
    def chat(request: ChatRequest) -> Any:
        question, history = fmt.split_messages(request.messages)
        if not question.strip():
            raise RagError("the last message must be a user message with a question")
        gate.enter()
        if request.stream:
            return StreamingResponse(_guarded(gate, _stream(service, question, role_turns(history), request.model,
                                                            parse_as_of(request.as_of))),
                                     media_type="text/event-stream")
        try:
            return fmt.completion(service.ask(question, role_turns(history), as_of=parse_as_of(request.as_of)),
                                  request.model)
        finally:
            gate.leave()

    @app.post("/v1/ask", dependencies=[Depends(auth)])
    def ask(request: AskRequest) -> dict[str, Any]:
        gate.enter()
        try:
            return service.ask(request.question, role_turns(request.history), as_of=parse_as_of(request.as_of)).to_dict()
        finally:
            gate.leave()

    @app.post("/v1/search", dependencies=[Depends(auth)])
    def search(request: SearchRequest) -> dict[str, Any]:
        return search_passages(service, request.question, request.k, request.mode, request.source, request.since,
                               request.until, request.as_of)

    @app.get("/v1/documents", dependencies=[Depends(auth)])
    def documents() -> dict[str, Any]:
        return {"documents": service.documents()}

    @app.post("/v1/documents", dependencies=[Depends(auth)])
    def add_documents(files: list[UploadFile] = File(...)) -> dict[str, Any]:
        return _upload(service, files)

    return app


def _auth_dependency(api_key: str | None):
    """A dependency that checks `Authorization: Bearer <key>` when a key is configured."""
    import secrets

    def check(request: Request) -> None:
        if api_key is None:
            return
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(given.encode(), api_key.encode()):
            raise HTTPException(401, "missing or wrong API key: send Authorization: Bearer <RAG_SERVE__API_KEY>")

    return check


def _add_limits(app: FastAPI, max_json: int, max_upload: int) -> None:
    """Refuse bodies larger than the limits before reading them (by Content-Length; chunked bodies are counted)."""

    @app.middleware("http")
    async def limit(request: Request, call_next):  # type: ignore[no-untyped-def]
        limit_bytes = max_upload if request.url.path == "/v1/documents" else max_json
        length = request.headers.get("content-length")
        if length is None and request.method in ("POST", "PUT"):
            body = await request.body()  # chunked: read, bounded by the server's own limits, then measured
            length = str(len(body))
        if length is not None and length.isdigit() and int(length) > limit_bytes:
            return JSONResponse({"error": {"message": f"request larger than {limit_bytes // 1024} KB"}},
                                status_code=413)
        return await call_next(request)


def _guarded(gate: Gate, events: Iterator[str]) -> Iterator[str]:
    """Release the gate when the stream ends, however it ends (client gone included)."""
    try:
        yield from events
    finally:
        gate.leave()


def _stream(service: RagService, question: str, history: list[dict[str, str]], model: str,
            as_of: dt.date | None = None) -> Iterator[str]:
    """Server-sent events: evidence first (in `rag`), then the CHECKED answer's text, then citations in `rag`.

    Only text that passed the claim check is sent as content, so a client that ignores `rag` never shows a
    sentence that was removed; the wait is bridged by the evidence chunk.
    """
    cid = fmt.completion_id()
    events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def work() -> None:
        try:
            answer = service.ask(question, history, on_evidence=lambda found: events.put(("evidence", found)), as_of=as_of)
            events.put(("done", answer))
        except BaseException as exc:  # noqa: BLE001 - sent to the client as one line
            events.put(("error", exc))

    threading.Thread(target=work, daemon=True).start()
    yield _sse(fmt.chunk(cid, model, {"role": "assistant", "content": ""}))
    while True:
        kind, value = events.get()
        if kind == "evidence":
            yield _sse(fmt.chunk(cid, model, {}, extra={"evidence": [c.to_dict() for c in value]}))
        elif kind == "done":
            yield from _answer_chunks(cid, model, value)
            break
        else:
            message = str(value) if isinstance(value, RagError) else f"internal error: {type(value).__name__}"
            yield _sse({"error": {"message": message}})
            break
    yield "data: [DONE]\n\n"


def _answer_chunks(cid: str, model: str, answer: Answer) -> Iterator[str]:
    """The checked answer in word-sized deltas, then the final chunk with citations and verdicts."""
    from ..text import split_words

    for piece in split_words(answer.answer):
        yield _sse(fmt.chunk(cid, model, {"content": piece}))
    yield _sse(fmt.chunk(cid, model, {}, "stop", extra=fmt.rag_extra(answer)))


def _sse(data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _upload(service: RagService, files: list[UploadFile]) -> dict[str, Any]:
    """Save uploads to temporary files under their own names, then index them through the service's checks; the
    answer names the files added, updated and refused, and those flagged as holding text written to steer the
    assistant (with their flags, as `rag index --json` gives them)."""
    import shutil
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        saved = []
        for i, upload in enumerate(files):
            target = Path(folder) / str(i) / Path(upload.filename or "upload").name
            target.parent.mkdir()
            with target.open("wb") as out:
                shutil.copyfileobj(upload.file, out)
            saved.append(target)
        result = service.upload(saved)
    report = result.report
    return {"summary": result.summary(), "rejected": [{"name": n, "reason": r} for n, r in result.rejected],
            "added": report.added if report else [], "updated": report.updated if report else [],
            "flagged": [{"source": source, "flags": flags} for source, flags in report.flagged] if report else []}


def serve(service: RagService, host: str, port: int) -> None:
    """Run the API with uvicorn (blocks)."""
    import uvicorn

    uvicorn.run(create_app(service), host=host, port=port, log_level="warning")


def check_exposure(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond loopback without an API key: anyone on the network could read the documents."""
    from ..service import is_loopback

    if not is_loopback(host) and not api_key:
        raise RagError(f"listening on {host} would expose your documents: set RAG_SERVE__API_KEY, or use 127.0.0.1")
