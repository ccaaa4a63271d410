"""Run app.py with a scripted fake chat model (for the browser test): `python -m tests.ui_fake_server --port N`.

The fake answers like a grounded model: it quotes the sentence of passage [1] in its prompt that shares the
most words with the question, so the real citation verifier and the highlighting are exercised. It rewrites
follow-ups by a fixed rule: the subject named in the follow-up plus the topic of the first question.
"""

from __future__ import annotations

import argparse
import re

from langchain_core.messages import BaseMessage

from rag.config import load_settings
from tests.fakes import FakeChatModel
from rag.ui.service import RagService


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 3}


def grounded_reply(messages: list[BaseMessage]) -> str:
    """An answer citing [1] with a verbatim sentence of passage 1, or a condensed question."""
    prompt = messages[-1].text
    if "Standalone question:" in prompt:
        follow_up = re.search(r"Last message:\s*(.+)", prompt).group(1)
        subject = re.findall(r"\b[A-Z][a-z]+\b", follow_up.removeprefix("And "))
        return f"What did {' '.join(subject[-1:]) or 'they'} do about CSTO military exercises?"
    question = re.search(r"Question:\s*(.+)", prompt).group(1)
    passage = re.search(r'<passage n="1"[^>]*>\s*(.+?)\s*</passage>', prompt, re.DOTALL).group(1)
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", passage) if len(s.split()) >= 5]
    best = max(sentences or [passage], key=lambda s: len(_words(s) & _words(question)))
    quote = " ".join(best.split()[:25])
    return f"The documents say that {quote} [1].\nQuotes:\n[1] \"{quote}\""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--index", required=True)
    args = parser.parse_args()
    import app

    service = RagService(load_settings(index=args.index), llm=FakeChatModel(grounded_reply))
    app.serve(service, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
