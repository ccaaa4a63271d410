"""`rag chat`: a terminal conversation with follow-ups, streamed answers and verified sources.

At a terminal it prompts (with readline history); in a pipe it reads one question per line from stdin and
writes each answer and its sources to stdout, so scripts can drive it. Commands: /sources, /help, /quit.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from . import terminal
from .answer.followup import history_pairs
from .errors import RagError

if TYPE_CHECKING:
    from .answer.assistant import Assistant
    from .types import Answer

HELP = "Ask a question; follow-ups refer to earlier answers. /sources shows the last answer's passages, /quit leaves."


def history_file() -> Path:
    """Where readline keeps the questions asked (the user's cache folder)."""
    from .llm.local import default_cache_dir

    return default_cache_dir().parent / "chat_history"


def _enable_readline() -> None:
    """Line editing and history at a terminal, when the platform has readline."""
    try:
        import readline
    except ImportError:
        return
    path = history_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        readline.read_history_file(path)
    except OSError:
        pass
    import atexit

    atexit.register(lambda: _save_history(readline, path))


def _save_history(readline, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Write the readline history, ignoring a read-only cache."""
    try:
        readline.set_history_length(1000)
        readline.write_history_file(path)
    except OSError:
        pass


def _questions(interactive: bool) -> Iterable[str]:
    """Questions typed at a prompt, or lines of stdin."""
    if not interactive:
        yield from (line.strip() for line in sys.stdin)
        return
    while True:
        try:
            yield input("> ").strip()
        except EOFError:
            typer.echo("")
            return


def show_sources(answer: Answer | None) -> None:
    """The passages of the last answer, cited ones first."""
    if answer is None:
        typer.echo("No answer yet.")
        return
    cited = {c.n for c in answer.citations}
    for n, p in enumerate(answer.passages, start=1):
        mark = "cited" if n in cited else "retrieved"
        typer.echo(f"[{n}] {p.source}, chars {p.start}-{p.end} ({mark}): {terminal.one_line(p.text)[:300]}")


def run_chat(assistant: Assistant, interactive: bool | None = None, as_of: dt.date | None = None) -> int:
    """The conversation loop, every question asked as of `as_of` (default today); returns the exit code (1 if any
    question failed in a pipe)."""
    interactive = sys.stdin.isatty() if interactive is None else interactive
    if interactive:
        _enable_readline()
        typer.secho(HELP, dim=True, err=True)
    answers: list[Answer] = []
    failed = False
    for question in _questions(interactive):
        if not question:
            continue
        if question in ("/quit", "/exit", "/q"):
            break
        if question in ("/sources", "/s"):
            show_sources(answers[-1] if answers else None)
            continue
        if question in ("/help", "/?"):
            typer.echo(HELP)
            continue
        try:
            answers.append(_answer_one(assistant, question, answers, interactive, as_of))
        except RagError as exc:
            failed = True
            typer.secho(f"error: {exc}", fg="red", err=True)
    return 1 if failed and not interactive else 0


def _answer_one(assistant: Assistant, question: str, answers: list[Answer], interactive: bool,
                as_of: dt.date | None = None) -> Answer:
    """Answer one line: evidence first, the streamed answer, then the checked answer with its sources."""
    shown: list[str] = []

    def on_token(text: str) -> None:
        shown.append(text)
        typer.echo(text, nl=False)

    # the assistant condenses follow-ups by the one rule every face shares (rag/answer/followup.py)
    result = assistant.ask(question, history=history_pairs(answers) or None, on_token=on_token,
                           on_evidence=terminal.print_evidence if interactive else None, as_of=as_of)
    if result.standalone_question:
        typer.secho(f"(searched for: {result.standalone_question})", dim=True, err=True)
    terminal.print_text(result, "".join(shown))
    typer.echo("")
    return result
