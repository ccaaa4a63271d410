"""OpenAI chat-completion shapes for rag answers: the text keeps its [n] markers, citations ride in `rag`."""

from __future__ import annotations

import time
import uuid
from typing import Any

from ..types import Answer

MODEL_NAME = "rag"


def completion_id() -> str:
    """A fresh id in OpenAI's style."""
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def rag_extra(answer: Answer) -> dict[str, Any]:
    """The documented extra field: citations with verified quotes (with date and outlet), claim verdicts (with
    independent sources), refusal, evidence, passages, as_of, time_scope, disagreements and warnings.

    Passages, citations and evidence carry `flagged`: whether the passage (as numbered) holds text its document was
    flagged for, written to steer the assistant (rag/guard/flags.py); passages carry those `flags` too. `warnings`
    has one line per flagged source the answer was written from."""
    data = answer.to_dict()
    keys = ("citations", "claims", "refused", "refusal_reason", "evidence", "standalone_question", "model", "timings",
            "as_of", "time_scope", "disagreements", "independent_sources", "warnings")
    extra = {key: data[key] for key in keys}
    flagged = {p["n"] for p in data["passages"] if p["flags"]}
    extra["passages"] = [{**{k: p[k] for k in ("n", "source", "start", "end", "score", "title", "date", "date_source",
                                               "outlet", "url", "duplicates", "flags")}, "flagged": p["n"] in flagged}
                         for p in data["passages"]]
    for citation in [*extra["citations"], *extra["evidence"]]:
        citation["flagged"] = citation["n"] in flagged
    return extra


def completion(answer: Answer, model: str, cid: str | None = None) -> dict[str, Any]:
    """A non-streamed chat.completion holding the answer."""
    return {
        "id": cid or completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": answer.answer}}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "rag": rag_extra(answer),
    }


def chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None = None,
          extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """One chat.completion.chunk; the last one carries `rag`."""
    body: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if extra is not None:
        body["rag"] = extra
    return body


def split_messages(messages: list[dict[str, Any]]) -> tuple[str, list[tuple[str, str]]]:
    """(the last user message, earlier turns as (role, text)) from OpenAI-style messages."""
    turns = [(m.get("role", "user"), _content_text(m.get("content"))) for m in messages]
    turns = [(role, text) for role, text in turns if role in ("user", "assistant") and text.strip()]
    if not turns or turns[-1][0] != "user":
        return "", turns
    return turns[-1][1], turns[:-1]


def _content_text(content: Any) -> str:
    """Text of a message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""
