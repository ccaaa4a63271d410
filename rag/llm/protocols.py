"""What answering may ask of a chat model beyond LangChain's interface, declared here so callers test for it with
isinstance instead of probing attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage


@runtime_checkable
class TokenProbabilities(Protocol):
    """A chat model that reads the probability of each choice as its reply's first token (the local xllamacpp
    engine): the answerability check and the claim judge then use P(yes) instead of the model's words."""

    def token_probabilities(self, messages: list[BaseMessage], choices: Sequence[str]) -> dict[str, float]:
        """Probability of each of `choices` (e.g. "yes", "no") as the first token of the reply to `messages`."""
        ...


@runtime_checkable
class LoadsWeights(Protocol):
    """A chat model whose weights load on first use unless loaded ahead (the local GGUF engines): the UI loads
    them at start so the first question does not wait."""

    def load(self) -> object:
        """Load the weights now (again: a no-op)."""
        ...
