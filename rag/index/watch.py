"""`rag index --watch`: keep an index in step with folders as files are added, changed and removed.

watchfiles reports changes (debounced, so a burst of saves is one re-index); each batch re-runs the same
incremental index_paths as `rag index`, which re-reads only what changed and removes documents whose files are
gone from a watched folder. Readers are never disturbed: each run writes a new generation and flips CURRENT, as
always. Changes inside the index folder itself (when it sits under a watched folder) are not news.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RagError

if TYPE_CHECKING:
    from ..config import Settings
    from .build import IndexReport
    from .embed import Embedder

DEBOUNCE_MS = 800  # changes closer together than this are one batch


def watch_paths(paths: Sequence[Path], settings: Settings, embedder: Embedder, *, stop_event: Any = None,
                on_report: Callable[[IndexReport | None, str], None] | None = None,
                debounce_ms: int = DEBOUNCE_MS) -> None:
    """Re-index `paths` after every batch of changes under them, until Ctrl-C or `stop_event` is set.
    `on_report(report, line)` hears each run (report None and the error line when a run failed); by default
    the line is printed."""
    from watchfiles import watch

    from .build import index_paths

    if not paths:
        raise RagError("--watch needs files or folders to watch: give at least one PATH")
    say = on_report or (lambda report, line: print(line, flush=True))
    index_root = os.path.realpath(settings.index)
    say(None, f"Watching {', '.join(str(p) for p in paths)} (Ctrl-C stops)")
    for changes in watch(*paths, debounce=debounce_ms, stop_event=stop_event, raise_interrupt=False,
                         watch_filter=_outside(index_root)):
        present = [p for p in paths if p.exists()]
        try:
            report = index_paths(present, settings, embedder)
        except RagError as error:  # e.g. another writer holds the index: the next change tries again
            say(None, f"error: {error}")
            continue
        say(report, f"{len(changes)} change(s): {len(report.added)} added, {len(report.updated)} updated, "
                    f"{len(report.removed)} removed; {report.documents} documents")


def _outside(index_root: str) -> Callable[[Any, str], bool]:
    """watchfiles' default filter, minus anything under the index folder (its own writes would loop forever)."""
    from watchfiles import DefaultFilter

    default = DefaultFilter()

    def keep(change: Any, path: str) -> bool:
        real = os.path.realpath(path)
        return default(change, path) and real != index_root and not real.startswith(index_root + os.sep)

    return keep
