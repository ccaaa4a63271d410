"""Which chat model a spec names: the local GGUF, hosted providers, OpenAI-compatible servers; and its label."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models.chat_models import BaseChatModel

from ..config import LLMSettings
from ..errors import ConfigError, ModelLoadError
from .engine import GGUFChatModel
from .local import MODEL_NAME, LlamaCppChatModel, assemble_local_model, default_threads, require_llama_cpp

ACCEPTED_SPECS = (
    "'local', a path to a .gguf file, 'provider:model' (openai:gpt-4o-mini, anthropic:claude-3-5-haiku-latest, "
    "ollama:llama3.1), or a model name with RAG_LLM__BASE_URL"
)


@dataclass(frozen=True)
class Provider:
    """How to build one provider's LangChain chat model."""

    module: str
    cls: str
    extra: str
    env_key: str | None


PROVIDERS = {
    "openai": Provider("langchain_openai", "ChatOpenAI", "openai", "OPENAI_API_KEY"),
    "anthropic": Provider("langchain_anthropic", "ChatAnthropic", "anthropic", "ANTHROPIC_API_KEY"),
    "ollama": Provider("langchain_ollama", "ChatOllama", "ollama", None),
}

_PROVIDER_SPEC = re.compile(r"^([A-Za-z][\w-]*):(.+)$")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed llm.spec."""

    kind: Literal["local", "gguf", "provider", "server"]
    provider: str | None = None
    model: str | None = None
    path: Path | None = None


# ---------------------------------------------------------------- spec resolution


def parse_spec(spec: str, base_url: str | None = None) -> ModelSpec:
    """Parse llm.spec (and whether a base_url is set) into a ModelSpec; ConfigError listing accepted forms."""
    text = spec.strip()
    if text.lower() == "local" or text.lower().endswith(".gguf"):
        if base_url:
            raise ConfigError(
                f"llm.base_url is set but llm.spec is {text!r}: set RAG_LLM__SPEC to the server's model name "
                "(e.g. openai:qwen2.5-coder) or unset RAG_LLM__BASE_URL"
            )
        if text.lower() == "local":
            return ModelSpec("local", model=MODEL_NAME)
        return ModelSpec("gguf", path=Path(text).expanduser(), model=Path(text).stem)
    match = _PROVIDER_SPEC.match(text)
    if base_url and text and (match is None or match.group(1).lower() == "openai"):
        # OpenAI-compatible server (llama.cpp server, vLLM, LM Studio): 'openai:MODEL' or a bare model name.
        return ModelSpec("server", provider="openai", model=match.group(2) if match else text)
    if match:
        return ModelSpec("provider", provider=match.group(1).lower(), model=match.group(2))
    raise ConfigError(f"unknown llm.spec {spec!r}: use {ACCEPTED_SPECS}")


def get_chat_model(settings: LLMSettings) -> BaseChatModel:
    """The LangChain chat model described by `settings` (local models load lazily, once per process)."""
    spec = parse_spec(settings.spec, settings.base_url)
    if spec.kind == "local":
        engine = local_engine(settings.engine)  # before assembling a gigabyte that could not be run
        return _gguf_model(engine, assemble_local_model(), MODEL_NAME, settings)
    if spec.kind == "gguf":
        assert spec.path is not None
        if not spec.path.is_file():
            raise ConfigError(f"GGUF model file not found: {spec.path} (check RAG_LLM__SPEC)")
        return _gguf_model(local_engine(settings.engine), spec.path, spec.path.stem, settings)
    if spec.kind == "server":
        return _server_model(spec, settings)
    return _provider_model(spec, settings)


def local_engine(choice: str = "auto") -> str:
    """Which engine runs GGUF files: xllamacpp (prebuilt wheels, the default) or llama-cpp-python."""
    from .xllama import require_xllamacpp

    if choice == "llama-cpp":
        require_llama_cpp()
        return "llama-cpp"
    if choice == "auto" and importlib.util.find_spec("xllamacpp") is None and _has_llama_cpp():
        return "llama-cpp"
    require_xllamacpp()
    return "xllamacpp"


def _has_llama_cpp() -> bool:
    """Whether llama-cpp-python is importable (without importing it)."""
    try:
        require_llama_cpp()
    except ModelLoadError:
        return False
    return True


def _gguf_model(engine: str, path: Path, name: str, settings: LLMSettings) -> BaseChatModel:
    """A chat model running a GGUF file on the chosen engine."""
    if engine == "llama-cpp":
        model_class: type[BaseChatModel] = LlamaCppChatModel
    else:
        from .xllama import XLlamaChatModel

        model_class = XLlamaChatModel
    return model_class(
        model_path=str(path),
        model_name=name,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads or default_threads(),
    )


def _server_model(spec: ModelSpec, settings: LLMSettings) -> BaseChatModel:
    """ChatOpenAI pointed at an OpenAI-compatible server; such servers usually need no key."""
    cls = _import_provider_class("openai")
    kwargs = _provider_kwargs("openai", settings)
    kwargs["api_key"] = settings.api_key or "not-needed"
    return _construct(cls, spec, kwargs)


def _provider_model(spec: ModelSpec, settings: LLMSettings) -> BaseChatModel:
    """A hosted/daemon provider's chat model, via init_chat_model when `langchain` is installed."""
    assert spec.provider is not None
    _check_api_key(spec.provider, settings)
    kwargs = _provider_kwargs(spec.provider, settings)
    init_chat_model = _find_init_chat_model()
    if init_chat_model is not None:
        try:
            return init_chat_model(spec.model, model_provider=spec.provider, **kwargs)
        except ImportError as exc:
            raise ConfigError(_missing_package_message(spec.provider)) from exc
        except ValueError as exc:  # unsupported provider, invalid parameters
            raise ConfigError(f"cannot create {spec.provider}:{spec.model}: {first_line(exc)}") from exc
    if spec.provider not in PROVIDERS:
        raise ConfigError(
            f"unknown provider {spec.provider!r}: use one of {', '.join(PROVIDERS)}, "
            f"or `pip install langchain langchain-{spec.provider.replace('_', '-')}` for other providers"
        )
    return _construct(_import_provider_class(spec.provider), spec, kwargs)


def _find_init_chat_model() -> Callable[..., BaseChatModel] | None:
    """langchain.chat_models.init_chat_model if the optional `langchain` package is installed."""
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        return None
    return init_chat_model


def _import_provider_class(provider: str) -> type[BaseChatModel]:
    """Import a known provider's chat-model class; ConfigError naming the pip extra if missing."""
    info = PROVIDERS[provider]
    try:
        module = importlib.import_module(info.module)
    except ImportError as exc:
        raise ConfigError(_missing_package_message(provider)) from exc
    return getattr(module, info.cls)


def _missing_package_message(provider: str) -> str:
    """One line telling the user how to install a provider's package."""
    if provider in PROVIDERS:
        package = PROVIDERS[provider].module.replace("_", "-")
        return f"provider {provider!r} needs {package}: run `pip install 'rag[{PROVIDERS[provider].extra}]'`"
    package = f"langchain-{provider.replace('_', '-')}"
    return f"provider {provider!r} needs {package}: run `pip install {package}`"


def _check_api_key(provider: str, settings: LLMSettings) -> None:
    """ConfigError naming the env var when a provider needs a key and none is configured."""
    info = PROVIDERS.get(provider)
    if info is None or info.env_key is None or settings.api_key or settings.base_url:
        return
    if not os.environ.get(info.env_key):
        raise ConfigError(f"{provider} needs an API key: set {info.env_key} or RAG_LLM__API_KEY")


def _provider_kwargs(provider: str, settings: LLMSettings) -> dict[str, Any]:
    """Constructor arguments shared by the providers (ollama calls max_tokens num_predict)."""
    kwargs: dict[str, Any] = {"temperature": settings.temperature}
    kwargs["num_predict" if provider == "ollama" else "max_tokens"] = settings.max_tokens
    if settings.api_key and provider != "ollama":
        kwargs["api_key"] = settings.api_key
    if settings.base_url:
        kwargs["base_url"] = settings.base_url
    return kwargs


def _construct(cls: type[BaseChatModel], spec: ModelSpec, kwargs: dict[str, Any]) -> BaseChatModel:
    """Instantiate a provider class; its validation errors become one-line ConfigErrors."""
    try:
        return cls(model=spec.model, **kwargs)
    except Exception as exc:  # pydantic ValidationError, openai.OpenAIError (missing credentials), ...
        raise ConfigError(f"cannot create {spec.provider}:{spec.model}: {first_line(exc)}") from exc


def model_label(settings: LLMSettings) -> str:
    """Short name of the configured model for display and JSON, e.g. 'local:qwen2.5-coder-1.5b-instruct-q4_k_m'."""
    try:
        spec = parse_spec(settings.spec, settings.base_url)
    except ConfigError:
        return settings.spec
    if spec.kind in ("local", "gguf"):
        return f"{spec.kind}:{spec.model}"
    if spec.kind == "server":
        return f"openai:{spec.model}@{settings.base_url}"
    return f"{spec.provider}:{spec.model}"


def chat_model_label(model: BaseChatModel) -> str:
    """Short name of a chat model built elsewhere and passed in (tests, the UI, evaluation)."""
    name = str(getattr(model, "model_name", None) or getattr(model, "model", None) or type(model).__name__)
    return f"local:{name}" if isinstance(model, GGUFChatModel) else name


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first non-empty line of an exception's message, shortened."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
