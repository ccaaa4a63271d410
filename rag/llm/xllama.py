"""Local GGUF chat model on xllamacpp: llama.cpp's own server embedded in-process (prebuilt wheels, no compiling).

A drop-in alternative to the llama-cpp-python engine. The server is driven by direct method calls
(`Server.handle_chat_completions`); its HTTP listener cannot be switched off, so it is bound to a random
loopback port and locked with a random API key that nothing outside this process knows.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk

from ..config import cache_dir
from ..errors import LLMError, ModelLoadError
from .engine import GGUFChatModel, cpu_has_amx, default_threads, require_engine, to_openai_messages
from .kvstate import PrefixStates, model_key

XLLAMA_PIP = "pip install xllamacpp"
# Host-RAM prompt cache of the server (llama.cpp's --cache-ram): KV states of recent prompts are kept here
# and restored when a later prompt shares their prefix. ~28 KiB/token for the 1.5B model: 512 MiB ~ 18k tokens.
CACHE_RAM_MIB = 512
# llama.cpp log verbosity: 0 silent, 1 errors, 2 warnings, 3 info (request timings), 4 debug.
VERBOSITY_ENV = "RAG_LLAMA_VERBOSITY"

log = logging.getLogger(__name__)

_LOAD_LOCK = threading.Lock()
# (resolved path, n_ctx, n_threads) -> its LoadedServer; one load per process.
_LOADED: dict[tuple[str, int, int], LoadedServer] = {}
_DONE = object()  # end-of-stream marker on a worker's queue


# ---------------------------------------------------------------- loading


def require_xllamacpp() -> None:
    """ModelLoadError naming the pip command if xllamacpp is missing (checked without importing it)."""
    require_engine("xllamacpp", XLLAMA_PIP)


def set_omp_wait_policy() -> bool:
    """Make idle OpenMP threads sleep instead of spin (unless the user chose a policy); False if set too late.

    llama.cpp's CPU threads meet at an OpenMP barrier after every operation. Spinning there is ~30% faster on
    an idle machine but, when another process wants a core, decoding drops 3-6x (benchmarks/llm_engine.py).
    libgomp reads the variable once, when loaded: xllamacpp links the system libgomp.so.1, but if torch was
    imported first its bundled libgomp.so.1 (same soname) is reused and has read it already. Entry points
    should therefore call this before importing torch.
    """
    if "OMP_WAIT_POLICY" in os.environ:
        return True
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    if _libgomp_loaded():
        log.info("OMP_WAIT_POLICY=PASSIVE set after OpenMP was loaded (by torch?): it has no effect in this process")
        return False
    return True


def _libgomp_loaded() -> bool:
    """True if an OpenMP runtime (libgomp) is already mapped into this process (Linux; False elsewhere)."""
    try:
        with open("/proc/self/maps") as maps:
            return any("libgomp" in line for line in maps)
    except OSError:
        return False


@dataclass
class LoadedServer:
    """One loaded model: the server, the lock serialising its single slot, and its saved prompt-prefix states."""

    server: Any
    lock: threading.Lock
    prefixes: PrefixStates


def load_server(path: str | Path, n_ctx: int = 4096, n_threads: int | None = None) -> LoadedServer:
    """The process-wide xllamacpp server for `path`, loaded on first use."""
    key = (str(Path(path).expanduser().resolve()), n_ctx, n_threads or default_threads())
    with _LOAD_LOCK:
        if key not in _LOADED:
            set_omp_wait_policy()
            api_key = secrets.token_urlsafe(32)
            folder = cache_dir("kv")
            server = start_server(*key, api_key=api_key, state_dir=folder)
            prefixes = PrefixStates(server.listening_address, api_key, folder, model_key(key[0], n_ctx))
            _LOADED[key] = LoadedServer(server, threading.Lock(), prefixes)
        return _LOADED[key]


def clear_loaded_servers() -> None:
    """Forget every loaded server (each stops and frees its model once no chat model holds it)."""
    with _LOAD_LOCK:
        _LOADED.clear()


def start_server(path: str, n_ctx: int, n_threads: int, *, api_key: str | None = None,
                 state_dir: Path | None = None) -> Any:
    """A new xllamacpp.Server for a GGUF file (lazy import, no caching); ModelLoadError with one line on failure.
    `api_key` locks its HTTP port (default: a random key), `state_dir` enables saving/restoring its slot there."""
    _check_gguf(Path(path))
    require_xllamacpp()
    import xllamacpp

    params = server_params(xllamacpp, path, n_ctx, n_threads, api_key or secrets.token_urlsafe(32), state_dir)
    try:
        # Blocks until the model is loaded and warmed up; then the server loop runs in its own C++ thread.
        return xllamacpp.Server(params)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelLoadError(
            f"cannot load {path} with xllamacpp ({exc}): is it a valid GGUF model? "
            f"({VERBOSITY_ENV}=3 shows llama.cpp's log)"
        ) from exc


def server_params(xllamacpp: Any, path: str, n_ctx: int, n_threads: int, api_key: str,
                  state_dir: Path | None = None) -> Any:
    """CommonParams for one in-process, single-slot, CPU server with quiet logs and a locked HTTP port."""
    params = xllamacpp.CommonParams()
    params.model.path = path
    params.n_ctx = n_ctx
    params.n_parallel = 1  # one slot owning the whole context; concurrent requests queue inside the server
    params.cpuparams.n_threads = n_threads  # decoding
    params.cpuparams_batch.n_threads = n_threads  # prompt processing
    params.cache_ram_mib = CACHE_RAM_MIB
    params.no_extra_bufts = cpu_has_amx()  # ggml's AMX path segfaults on Q4_K_M on some AMX CPUs
    params.verbosity = _verbosity()
    # The HTTP listener always starts: loopback only, any free port, no web UI, one thread, and an API key
    # nobody knows (in-process calls bypass the HTTP middleware, so they need no key).
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.ui = False
    params.n_threads_http = 1
    params.api_keys = [api_key]
    if state_dir is not None:  # /slots save|restore (kvstate.py), files only inside state_dir
        params.endpoint_slots = True
        params.slot_save_path = f"{state_dir}{os.sep}"  # llama.cpp joins by concatenation
    return params


def _verbosity() -> int:
    """llama.cpp log threshold from RAG_LLAMA_VERBOSITY; 0 (silent) by default, errors reach us in responses."""
    try:
        return int(os.environ.get(VERBOSITY_ENV, "0"))
    except ValueError:
        return 0


def _check_gguf(path: Path) -> None:
    """ModelLoadError unless `path` is a readable file starting with the GGUF magic bytes."""
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise ModelLoadError(f"cannot read model file {path} ({exc.strerror}): check RAG_LLM__SPEC") from exc
    if magic != b"GGUF":
        raise ModelLoadError(f"{path} is not a GGUF model file: check RAG_LLM__SPEC")


# ---------------------------------------------------------------- requests

def raise_for_error(response: dict[str, Any]) -> None:
    """LLMError with one line if a server response (or stream chunk) carries an error."""
    error = response.get("error")
    if error is None:
        return
    message = error.get("message", error) if isinstance(error, dict) else error
    if isinstance(error, dict) and error.get("type") == "exceed_context_size_error":
        raise LLMError(f"local model: {message}; use fewer or shorter passages or raise RAG_LLM__N_CTX")
    raise LLMError(f"local model failed: {message} ({VERBOSITY_ENV}=3 shows llama.cpp's log)")


def stream_chat(server: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Chunks of a streaming chat completion; closing the iterator cancels the generation.

    xllamacpp streams through a callback that runs in the calling thread until the reply is complete, so the
    call runs in a worker thread feeding a queue. Returning True from the callback makes the server drop the
    request; that can only happen when the next chunk arrives, so the worker is not waited for (the server
    queues any following request until the slot is free).
    """
    chunks: queue.SimpleQueue[Any] = queue.SimpleQueue()
    cancelled = threading.Event()

    def on_chunk(chunk: dict[str, Any]) -> bool:
        chunks.put(chunk)
        return cancelled.is_set()

    def run() -> None:
        try:
            server.handle_chat_completions(request, on_chunk)
        except Exception as exc:  # surfaced in the consumer's thread
            chunks.put(exc)
        finally:
            chunks.put(_DONE)

    threading.Thread(target=run, name="xllamacpp-stream", daemon=True).start()
    try:
        while (item := chunks.get()) is not _DONE:
            if isinstance(item, Exception):
                raise LLMError(f"local model failed: {item}") from item
            raise_for_error(item)
            yield item
    finally:
        cancelled.set()


def _usage(usage: dict[str, Any] | None) -> UsageMetadata | None:
    """LangChain usage metadata from an OpenAI usage dict."""
    if not usage:
        return None
    return UsageMetadata(
        input_tokens=usage.get("prompt_tokens", 0),
        output_tokens=usage.get("completion_tokens", 0),
        total_tokens=usage.get("total_tokens", 0),
    )


def choice_probabilities(top_logprobs: Sequence[dict[str, Any]], choices: Sequence[str]) -> dict[str, float]:
    """Per choice, the summed probability of top tokens whose stripped lower-cased text equals it."""
    wanted = {c.strip().lower(): c for c in choices}
    probs = dict.fromkeys(choices, 0.0)
    for entry in top_logprobs:
        choice = wanted.get(entry["token"].strip().lower())
        if choice is not None:
            probs[choice] += math.exp(entry["logprob"])  # "Yes", "yes", " yes" all count for "yes"
    return probs


# ---------------------------------------------------------------- chat model


class XLlamaChatModel(GGUFChatModel):
    """xllamacpp's embedded llama.cpp server behind the LangChain chat-model interface, shared per process."""

    @property
    def _llm_type(self) -> str:
        return "xllamacpp"

    def load(self) -> LoadedServer:
        """Load (or reuse) the server now, e.g. to warm up a UI."""
        return load_server(self.model_path, self.n_ctx, self.n_threads or default_threads())

    def _request(self, messages: list[BaseMessage], **options: Any) -> dict[str, Any]:
        """A chat-completion request; cache_prompt reuses the KV cache of a shared prefix (system prompt)."""
        request = {
            "messages": to_openai_messages(messages),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "cache_prompt": True,
        }
        request.update({k: v for k, v in options.items() if v is not None})
        return request

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        loaded = self.load()
        request = self._request(messages, stop=stop, stream=True, stream_options={"include_usage": True}, **kwargs)
        finish, usage = None, None
        # One generation at a time per model. If the consumer abandons the stream, closing this generator
        # (GeneratorExit) closes the inner one, which cancels the request, and releases the lock.
        with loaded.lock:
            unsaved = loaded.prefixes.prepare(request["messages"])
            with closing(stream_chat(loaded.server, request)) as chunks:
                for part in chunks:
                    usage = part.get("usage") or usage  # the last chunk has usage and no choices
                    for choice in part.get("choices") or []:
                        finish = choice.get("finish_reason") or finish
                        text = (choice.get("delta") or {}).get("content") or ""
                        if text:
                            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                            if run_manager:
                                run_manager.on_llm_new_token(text, chunk=chunk)
                            yield chunk
            if finish:  # only a completed request leaves its whole state in the slot
                loaded.prefixes.save(unsaved)
        meta = {"finish_reason": finish, "model_name": self.model_name}
        yield ChatGenerationChunk(
            message=AIMessageChunk(content="", response_metadata=meta, usage_metadata=_usage(usage))
        )

    def token_probabilities(self, messages: list[BaseMessage], choices: Sequence[str]) -> dict[str, float]:
        """Probability of each choice (e.g. "yes", "no") as the reply's first token, greedy, one token generated."""
        loaded = self.load()
        request = self._request(messages, max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=20)
        with loaded.lock:
            unsaved = loaded.prefixes.prepare(request["messages"])
            response = loaded.server.handle_chat_completions(request)
            raise_for_error(response)
            loaded.prefixes.save(unsaved)
        content = (response["choices"][0].get("logprobs") or {}).get("content") or []
        return choice_probabilities(content[0]["top_logprobs"] if content else [], choices)
