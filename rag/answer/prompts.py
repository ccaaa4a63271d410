"""The answer and follow-up prompts: templates from prompts/ (llm/templates.py) filled with passages, questions
and history."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..guard.flags import redact
from ..llm.templates import load_template, neutralise
from ..text import defang_directives
from ..types import REFUSAL, Passage

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

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
