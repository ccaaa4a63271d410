"""Calling a chat model: streaming text, and every provider failure turned into one line that says what to fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel

from ..config import LLMSettings
from ..errors import LLMError, RagError
from .specs import first_line, model_label



def _http_status(exc: BaseException) -> int | None:
    """HTTP status carried by provider SDK errors, if any."""
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


# (exception class names anywhere in the MRO, HTTP statuses, message); first match wins. Class names avoid
# importing the provider SDKs; langchain-core >= 1.x also wraps them in its Model*Error classes.
_ERROR_KINDS: list[tuple[set[str], set[int], str]] = [
    ({"ContextOverflowError"}, set(),
     "prompt too long for the context window: raise RAG_LLM__N_CTX or lower RAG_ANSWER__PASSAGES"),
    ({"ModelAuthenticationError", "AuthenticationError", "ModelPermissionDeniedError", "PermissionDeniedError"},
     {401, 403}, "authentication failed: check RAG_LLM__API_KEY or the provider's API key variable"),
    ({"ModelNotFoundError", "NotFoundError"}, {404},
     "model or endpoint not found{server}: check RAG_LLM__SPEC{and_url}"),
    ({"ModelRateLimitError", "RateLimitError"}, {429},
     "rate limit or quota exceeded: wait and retry, or check the provider account"),
    ({"ModelTimeoutError", "APITimeoutError", "TimeoutException", "TimeoutError"}, set(),
     "request timed out{server}: check RAG_LLM__BASE_URL and that the server is responsive"),
    ({"ModelConnectionError", "APIConnectionError", "ConnectError", "ConnectionError"}, set(),
     "cannot connect{server}: {connect_hint}"),
]


def describe_llm_error(exc: BaseException, settings: LLMSettings | None = None) -> str:
    """One line explaining a failed model call and which setting to fix."""
    who = model_label(settings) if settings else "chat model"
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "exceed context window" in str(exc):  # llama-cpp raises a plain ValueError
        names.add("ContextOverflowError")
    status = _http_status(exc)
    base_url = settings.base_url if settings else None
    fields = {
        "server": f" at {base_url}" if base_url else "",
        "and_url": " and RAG_LLM__BASE_URL" if base_url else "",
        "connect_hint": "is `ollama serve` running?" if who.startswith("ollama:") else
        "check RAG_LLM__BASE_URL and that the server is running",
    }
    for kinds, statuses, message in _ERROR_KINDS:
        if names & kinds or status in statuses:
            return f"{who}: " + message.format(**fields)
    return f"{who} failed: {type(exc).__name__}: {first_line(exc)}"


@contextmanager
def call_errors_as_llm_error(settings: LLMSettings | None = None) -> Iterator[None]:
    """Turn any exception raised while calling a model into a one-line LLMError (RagErrors pass through)."""
    try:
        yield
    except RagError:
        raise
    except Exception as exc:
        raise LLMError(describe_llm_error(exc, settings)) from exc


def stream_chat(
    model: BaseChatModel, messages: LanguageModelInput, settings: LLMSettings | None = None
) -> Iterator[str]:
    """Stream the model's reply as text chunks; failures become LLMError."""
    with call_errors_as_llm_error(settings):
        for chunk in model.stream(messages):
            if chunk.text:
                yield chunk.text


