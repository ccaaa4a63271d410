"""Prompt files: load the editable templates in prompts/ (or a folder of one's own), fill their placeholders,
and defang text that could close a data block or fake a chat turn. The answer prompt and the LLM claim judge
both use them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage


def default_prompts_dir() -> Path:
    """The shipped templates: the repository's prompts/ folder, packaged as rag.prompts."""
    from importlib.resources import files

    return Path(str(files("rag.prompts")))


_SECTION = re.compile(r"^##\s*(system|user|assistant)\s*$", re.MULTILINE | re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Tags that delimit data in our prompts, and chat-template control tokens (<|im_end|>, <|eot_id|>, ...):
# inside a document or a question they are defanged so they cannot close the data block or fake a turn.
_DELIMITER_LIKE = re.compile(
    r"<(\s*/?\s*(?:passages?|question|history|system|user|assistant)\b[^<>]*)>|<(\|[^<>|]*\|)>", re.IGNORECASE
)


@dataclass(frozen=True)
class PromptTemplate:
    """Chat messages (role, text) with {placeholders}: a system message, optional examples, the user message last."""

    name: str
    messages: tuple[tuple[str, str], ...]

    def render(self, **values: str) -> list[BaseMessage]:
        """Chat messages with every known {placeholder} filled (unknown ones stay as written)."""
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        return [kinds[role](fill(text, values)) for role, text in self.messages]


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace {name} by values[name] in one pass, so braces inside values are never re-read."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def load_template(name: str, folder: Path | None = None) -> PromptTemplate:
    """Parse prompts/<name>.md: messages under '## system', '## user', '## assistant' headings, in order.

    HTML comments are notes for editors. '## user' / '## assistant' pairs before the last '## user'
    are worked examples; the last section must be '## user'.
    """
    path = Path(folder or default_prompts_dir()) / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"prompt template {path} is missing or unreadable: restore it or set RAG_ANSWER__PROMPTS_DIR"
        ) from exc
    parts = _SECTION.split(_COMMENT.sub("", text))
    messages = tuple((role.lower(), body.strip()) for role, body in zip(parts[1::2], parts[2::2]))
    if not messages or messages[-1][0] != "user" or not messages[-1][1]:
        raise ConfigError(
            f"prompt template {path} must end with a '## user' section: see prompts/answer.md for the format"
        )
    return PromptTemplate(name, messages)


def render_template(name: str, folder: Path | None = None, **values: str) -> list[BaseMessage]:
    """Load prompts/<name>.md and fill it."""
    return load_template(name, folder).render(**values)


def neutralise(text: str) -> str:
    """Defang delimiter-like tags and chat control tokens: '<' and '>' become '‹' and '›'."""
    return _DELIMITER_LIKE.sub(lambda m: f"‹{m.group(1) or m.group(2)}›", text)
