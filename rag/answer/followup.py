"""Follow-ups: which questions lean on the conversation, and the one rule every face condenses them by.

`rag chat`, the web UI and the API's chat completions and /v1/ask all hand the conversation to `Assistant.ask`,
which asks `standalone_question` what to search for: a follow-up is rewritten with the conversation (one model
call), a question that stands on its own is searched as asked, whatever came before it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..types import Answer
from .prompts import condense_messages, normalise_history
from ..checks.reply import is_refusal

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

    from ..config import Settings

CONDENSE_TOKENS = 64  # a standalone question is one line; local models are cut off here rather than ramble


def history_pairs(answers: Sequence[Answer], limit: int = 3) -> list[tuple[str, str]]:
    """The last few (question, answer) exchanges, as follow-up condensing needs them."""
    return [(a.question, a.answer) for a in answers[-limit:]]


def role_turns(turns: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """(role, text) turns, e.g. OpenAI messages, as {'role', 'content'} messages (a bare pair reads as an exchange)."""
    return [{"role": role, "content": text} for role, text in turns]


# A follow-up leans on the conversation: it opens with a connective or refers back with a pronoun.
_FOLLOW_UP_START = re.compile(r"^\W*(?:and|but|also|so|then|or|what about|how about|why not|same)\b", re.IGNORECASE)
_BACK_REFERENCE = re.compile(
    r"\b(?:it|its|they|them|their|he|him|his|she|her|this|that|these|those|there|the same|too|as well|else|"
    r"other|another|former|latter)\b", re.IGNORECASE)


def looks_like_follow_up(question: str) -> bool:
    """Whether a question needs the conversation to be understood (so it is worth condensing)."""
    words = re.findall(r"\w+", question)
    return len(words) <= 3 or bool(_FOLLOW_UP_START.search(question) or _BACK_REFERENCE.search(question))


def needs_condensing(history: Sequence[Any] | None, question: str) -> bool:
    """Whether a question is a follow-up to a conversation there is: only then is condensing worth a model call."""
    return bool(history and normalise_history(history)) and looks_like_follow_up(question)


def standalone_question(history: Sequence[Any] | None, question: str, llm: BaseChatModel,
                        settings: Settings | None = None) -> str:
    """The question to search for: a follow-up rewritten with the conversation, any other question as asked."""
    if not needs_condensing(history, question):
        return question.strip()
    return condense_question(history or [], question, llm, settings)


def condense_question(
    history: Sequence[Any], question: str, llm: BaseChatModel, settings: Settings | None = None
) -> str:
    """Rewrite a follow-up question as a standalone one using the chat history; the question itself on failure."""
    from ..llm.calls import call_errors_as_llm_error
    from ..llm.engine import GGUFChatModel

    if not normalise_history(history):
        return question.strip()
    folder = settings.answer.prompts_dir if settings else None
    messages = condense_messages(history, question, folder)
    limit = {"max_tokens": CONDENSE_TOKENS} if isinstance(llm, GGUFChatModel) else {}  # providers: their own cap
    with call_errors_as_llm_error(settings.llm if settings else None):
        reply = llm.invoke(messages, **limit).text
    return _standalone_from(reply, question)


def _standalone_from(reply: str, question: str) -> str:
    """The first line of a condense reply, stripped of labels and quotes; the original if it looks wrong."""
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    line = (
        re.sub(
            r"^[\s*_]*(?:standalone question|question|rewritten question)[\s*_]*:[\s*_]*",
            "",
            lines[0] if lines else "",
            flags=re.IGNORECASE,
        )
        .strip()
        .strip("\"'“”*_")
        .strip()
    )
    if not line or is_refusal(line) or len(line) > max(300, 3 * len(question)):
        return question.strip()
    return line
