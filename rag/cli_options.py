"""The options several `rag` commands share, and settings from env with a command's overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

IndexOpt = Annotated[Optional[Path], typer.Option("--index", help="Index folder [env: RAG_INDEX; default index/default].")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
SourceOpt = Annotated[Optional[str], typer.Option("--source", help="Only sources matching this glob.")]
SinceOpt = Annotated[Optional[str], typer.Option("--since", help="Only documents dated on/after DATE (YYYY, YYYY-MM or YYYY-MM-DD).")]
ExcludeFlaggedOpt = Annotated[bool, typer.Option(
    "--exclude-flagged", help="Leave out documents flagged as holding text written to steer the assistant "
    "[env: RAG_RETRIEVE__EXCLUDE_FLAGGED].")]
AsOfOpt = Annotated[Optional[str], typer.Option(
    "--as-of", help="Ask as of DATE (YYYY-MM-DD): nothing published after it is read, and 'this week', 'last month' "
    "are read from it [default: today].")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="Only documents dated on/before DATE (YYYY, YYYY-MM or YYYY-MM-DD).")]


def settings(**overrides: object):
    """Settings from env with CLI overrides applied."""
    from .config import load_settings

    return load_settings(**overrides)
