"""Test fakes: a deterministic chat model that replies from a queue or a function and records every prompt."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from rag.errors import LLMError
from rag.text import split_words

ReplyFn = Callable[[list[BaseMessage]], str]


def demo_reply(messages: list[BaseMessage]) -> str:
    """Deterministic reply used by spec 'fake': echoes the start of the last message."""
    last = messages[-1].text.strip().splitlines()[-1] if messages and messages[-1].text.strip() else ""
    return f"[fake model] {len(messages)} message(s) received; last line: {last[:120]}"


class FakeChatModel(BaseChatModel):
    """Deterministic chat model for tests and demos: replies from a queue or a function; records every prompt."""

    model_name: str = "fake"
    replies: list[str] = Field(default_factory=list)
    reply_fn: ReplyFn | None = None
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, replies: Sequence[str] | str | ReplyFn | None = None, **kwargs: Any) -> None:
        """FakeChatModel(["a", "b"]) answers in order, FakeChatModel(fn) answers fn(messages), no argument echoes."""
        if callable(replies):
            kwargs["reply_fn"] = replies
        elif isinstance(replies, str):
            kwargs["replies"] = [replies]
        elif replies is not None:
            kwargs["replies"] = list(replies)
        elif "replies" not in kwargs and "reply_fn" not in kwargs:
            kwargs["reply_fn"] = demo_reply
        super().__init__(**kwargs)

    @property
    def _llm_type(self) -> str:
        return "rag-fake"

    def _next_reply(self, messages: list[BaseMessage]) -> str:
        """Record the prompt and produce the reply (thread-safe)."""
        with self._lock:
            self.calls.append(list(messages))
            if self.reply_fn is not None:
                return self.reply_fn(messages)
            if not self.replies:
                raise LLMError(f"FakeChatModel has no replies left (call {len(self.calls)})")
            return self.replies.pop(0)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._next_reply(messages)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=reply))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for word in split_words(self._next_reply(messages)):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word))
            if run_manager:
                run_manager.on_llm_new_token(word, chunk=chunk)
            yield chunk
