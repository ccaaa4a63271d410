"""What both local GGUF engines (xllamacpp, llama-cpp-python) share: thread defaults, the AMX guard, message
conversion, and a LangChain chat-model base whose non-streamed calls are built from the stream."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel, generate_from_stream
from langchain_core.messages import BaseMessage, ChatMessage
from langchain_core.outputs import ChatResult

from ..errors import ModelLoadError


def default_threads() -> int:
    """One thread per core: with OMP_WAIT_POLICY=PASSIVE as fast as 1 thread at decoding and ~1.8x at prompts.

    benchmarks/llm_engine.py on 2 cores: 2 threads process prompts at ~70 tokens/s vs ~39 for 1 thread. Decoding
    is ~18 tokens/s either way (26 with spinning OpenMP threads, but that collapses to 4-8 beside one busy process).
    """
    return max(os.cpu_count() or 1, 1)


def cpu_has_amx() -> bool:
    """True on CPUs with Intel AMX (Linux /proc/cpuinfo); RAG_LLAMA_EXTRA_BUFTS=1 forces False.

    ggml's AMX path segfaults on the first decode of Q4_K_M models on some AMX CPUs (ggml-org/llama.cpp#20824),
    so both engines load without ggml's extra buffer types there.
    """
    if os.environ.get("RAG_LLAMA_EXTRA_BUFTS") == "1":
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return "amx_int8" in flags or "amx_tile" in flags


_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as OpenAI-style dicts (system/user/assistant; other roles become user)."""
    out = []
    for m in messages:
        role = m.role if isinstance(m, ChatMessage) else _ROLES.get(m.type, "user")
        out.append({"role": role if role in ("system", "user", "assistant") else "user", "content": m.text})
    return out


class GGUFChatModel(BaseChatModel):
    """A local GGUF model behind LangChain's chat-model interface; subclasses implement `_stream` (BaseChatModel's
    raises NotImplementedError) and `load`; whole replies are their streams joined."""

    model_path: str
    model_name: str
    temperature: float = 0.0
    max_tokens: int = 300
    n_ctx: int = 4096
    n_threads: int | None = None

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "temperature": self.temperature, "max_tokens": self.max_tokens}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))


def require_engine(module: str, pip: str) -> None:
    """ModelLoadError naming the pip command if an engine's module is missing (checked without importing it)."""
    try:
        found = importlib.util.find_spec(module) is not None
    except ValueError:  # sys.modules[module] is None (tests simulating its absence)
        found = False
    if not found:
        name = pip.split()[-1]  # the package: the pip command's last word
        raise ModelLoadError(f"{name} is not installed: run `{pip}` or set RAG_LLM__SPEC to another model")
