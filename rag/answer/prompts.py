"""Prompt templates: load the editable files in prompts/ and fill them with passages, questions and history."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..guard.flags import redact
from ..text import defang_directives
from ..types import REFUSAL, Passage

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


_UNSAFE_ATTR = re.compile(r"[^\w .,&'-]")


def format_passages(passages: Sequence[Passage]) -> str:
    """Numbered <passage> blocks, one per passage: flagged text removed (rag/guard), the rest neutralised."""
    blocks = []
    for n, passage in enumerate(passages, start=1):
        date = f' date="{passage.date}"' if passage.date else ""
        # The outlet comes from the document (title, metadata): no quotes or brackets may close the tag early.
        outlet = f' outlet="{_UNSAFE_ATTR.sub("", passage.outlet)[:60]}"' if passage.outlet else ""
        text = defang_directives(neutralise(redact(passage.text, passage.flags).strip()))
        blocks.append(f'<passage n="{n}"{date}{outlet}>\n{text}\n</passage>')
    return "\n".join(blocks)


def answer_messages(question: str, passages: Sequence[Passage], folder: Path | None = None) -> list[BaseMessage]:
    """The answer prompt: instructions, the passages as a delimited data block, the question."""
    template = load_template("answer", folder)
    return template.render(passages=format_passages(passages), question=neutralise(question.strip()), refusal=REFUSAL)


def format_history(history: Sequence[Any], turns: int = 3, max_chars: int = 400) -> str:
    """The last `turns` exchanges as 'User: ...' / 'Assistant: ...' lines, long replies shortened."""
    lines = []
    for role, content in normalise_history(history)[-2 * turns :]:
        content = " ".join(content.split())
        if len(content) > max_chars:
            content = content[: max_chars - 1] + "…"
        lines.append(f"{'User' if role == 'user' else 'Assistant'}: {neutralise(content)}")
    return "\n".join(lines)


def normalise_history(history: Sequence[Any]) -> list[tuple[str, str]]:
    """(role, text) pairs from {'role', 'content'} dicts (Gradio 'messages'), (user, assistant) pairs or messages."""
    turns: list[tuple[str, str]] = []
    for item in history or []:
        if isinstance(item, Mapping):
            turns.append(("user" if item.get("role") == "user" else "assistant", _text(item.get("content"))))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            turns += [("user", _text(item[0])), ("assistant", _text(item[1]))]
        elif hasattr(item, "type") and hasattr(item, "content"):  # LangChain message
            turns.append(("user" if item.type == "human" else "assistant", _text(item.content)))
    return [(role, text) for role, text in turns if text.strip()]


def _text(content: Any) -> str:
    """Plain text of a chat message's content (Gradio may hold files or component dicts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        return str(content.get("text", ""))
    if isinstance(content, (list, tuple)):
        return " ".join(_text(c) for c in content)
    return ""


def condense_messages(history: Sequence[Any], question: str, folder: Path | None = None) -> list[BaseMessage]:
    """The prompt that rewrites a follow-up question into a standalone one."""
    template = load_template("condense", folder)
    return template.render(history=format_history(history), question=neutralise(question.strip()))
