"""Run the web UI with a scripted fake chat model (for the browser test): `python -m tests.ui_fake_server --port N`.

The fake answers like a grounded model: it quotes the sentence of passage [1] in its prompt that shares the
most words with the question, so the real citation verifier and the highlighting are exercised, then adds a
second sentence its quotes do not support, which the claim check must remove. It rewrites follow-ups by a
fixed rule (the subject named in the follow-up plus the topic of the first question), judges claims by word
overlap, streams one word every --token-delay seconds (a question asking "in detail" gets a long, slow reply,
to test Stop), takes --load-seconds to "load", and counts the words it streamed in --token-log.
With --news it answers instead like a grounded model on news (tests/data/news): see `news_reply`.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk

from rag.config import load_settings
from rag.text import split_words
from rag.service import RagService
from tests.fakes import FakeChatModel

LONG = "in detail"


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 3}


def judge_reply(prompt: str) -> str:
    """'yes' when most content words of the answer are in the text, as a cautious judge would say."""
    text = re.search(r'Text:\s*(.+?)\nQuestion:', prompt, re.DOTALL).group(1)
    claim = re.search(r"Answer:\s*(.+)", prompt).group(1).removeprefix("The documents say that ")
    words = _words(claim)
    return "yes" if words and len(words & _words(text)) >= 0.6 * len(words) else "no"


def grounded_reply(messages: list[BaseMessage]) -> str:
    """An answer citing [1] with a verbatim sentence of passage 1 plus an unsupported claim, or a condensed question."""
    prompt = messages[-1].text
    if "Does the text alone support the answer?" in prompt:
        return judge_reply(prompt)
    if "Standalone question:" in prompt:
        follow_up = re.search(r"Last message:\s*(.+)", prompt).group(1)
        subject = re.findall(r"\b[A-Z][a-z]+\b", follow_up.removeprefix("And "))
        return f"What did {' '.join(subject[-1:]) or 'they'} do about CSTO military exercises?"
    question = re.search(r"Question:\s*(.+)", prompt).group(1)
    passage = re.search(r'<passage n="1"[^>]*>\s*(.+?)\s*</passage>', prompt, re.DOTALL).group(1)
    if LONG in question:
        return " ".join(["Central Asia is discussed at length in the passages [1]."] * 40)
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", passage) if len(s.split()) >= 5]
    best = max(sentences or [passage], key=lambda s: len(_words(s) & _words(question)))
    quote = " ".join(best.split()[:25])
    return (f"The documents say that {quote} [1]. Observers in Paris expected a quick reconciliation [2].\n"
            f"Quotes:\n[1] \"{quote}\"")


def news_reply(messages: list[BaseMessage]) -> str:
    """An answer quoting, from each passage that speaks to the question (its best sentence shares at least half of
    the question's words), that whole sentence, cited; nothing unsupported. Sentences end at line breaks too, so a
    title or front matter is never quoted. Judging and follow-ups as in `grounded_reply`."""
    prompt = messages[-1].text
    if "Does the text alone support the answer?" in prompt or "Standalone question:" in prompt:
        return grounded_reply(messages)
    asked = _words(re.search(r"Question:\s*(.+)", prompt).group(1))
    claims, quotes = [], []
    for n, text in re.findall(r'<passage n="(\d+)"[^>]*>\s*(.+?)\s*</passage>', prompt, re.DOTALL):
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n", text) if len(s.split()) >= 5]
        best = max(sentences or [text.strip()], key=lambda s: len(_words(s) & asked))
        if len(_words(best) & asked) * 2 >= len(asked):
            claims.append(f"{best.rstrip('.')} [{n}].")
            quotes.append(f'[{n}] "{best}"')
    if not claims:
        return grounded_reply(messages)
    return " ".join(claims) + "\nQuotes:\n" + "\n".join(quotes)


class SlowFakeModel(FakeChatModel):
    """The fake, streaming one word per `delay` seconds, counting words in `token_log`, loading for `load_seconds`."""

    delay: float = 0.0
    load_seconds: float = 0.0
    token_log: str | None = None

    def load(self) -> None:
        """Pretend to load weights (the UI shows its loading state meanwhile)."""
        time.sleep(self.load_seconds)

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        words = split_words(self._next_reply(messages))
        slow = LONG in messages[-1].text and "Does the text" not in messages[-1].text
        for count, word in enumerate(words, start=1):
            time.sleep(0.25 if slow else self.delay)
            if self.token_log:
                Path(self.token_log).write_text(str(count), encoding="utf-8")
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word))
            if run_manager:
                run_manager.on_llm_new_token(word, chunk=chunk)
            yield chunk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--token-delay", type=float, default=0.02)
    parser.add_argument("--load-seconds", type=float, default=0.0)
    parser.add_argument("--token-log")
    parser.add_argument("--news", action="store_true", help="answer as news_reply does (default: grounded_reply)")
    args = parser.parse_args()
    from rag.ui.app import serve

    llm = SlowFakeModel(news_reply if args.news else grounded_reply, delay=args.token_delay,
                        load_seconds=args.load_seconds, token_log=args.token_log)
    serve(RagService(load_settings(index=args.index), llm=llm), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
