"""One question run in a worker thread that the UI polls: stages with times, streamed text, early evidence, Stop.

Stop really stops: the worker's callbacks raise `Stopped` once the flag is set, and so does a LangChain
callback handler on every token the model produces (also while it writes the quote block, which is not
streamed to the screen). The exception unwinds the model's stream, and closing that stream cancels the
generation in the local engine (rag/llm/xllama.py) and frees it for the next question.
No gradio here, so this is tested without a browser.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tracers.context import register_configure_hook

from ..errors import RagError
from ..types import Answer, Citation

log = logging.getLogger("rag.ui")

STAGES = ("searching", "evidence", "writing", "checking", "done")  # in order, as RagService.ask reports them


class Stopped(BaseException):
    """The user pressed Stop (a BaseException, so no `except Exception` on the way swallows or rewraps it)."""


class _StopOnToken(BaseCallbackHandler):
    """Raises Stopped on the next token any chat model produces once `event` is set."""

    raise_error = True

    def __init__(self, event: threading.Event):
        self.event = event

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        """Called by LangChain for every streamed token."""
        if self.event.is_set():
            raise Stopped


_STOP_HANDLER: ContextVar[BaseCallbackHandler | None] = ContextVar("rag_ui_stop_handler", default=None)
register_configure_hook(_STOP_HANDLER, True)  # every model call in a worker thread that set it gets the handler


def readable(exc: BaseException) -> str:
    """The message a user sees for a failure: RagErrors as they are, anything else in one line."""
    if isinstance(exc, RagError):
        return str(exc)
    log.error("unexpected error in the UI", exc_info=exc)
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    return f"unexpected error ({type(exc).__name__}: {first_line}); see the server log"


class Loader:
    """Loads the models in a background thread at start-up; the UI shows its state until it is ready."""

    def __init__(self, load: Callable[[], str | None]):
        self._load = load
        self.problem: str | None = None
        self.started = time.monotonic()
        self.seconds: float | None = None  # how long loading took, once done
        self._done = threading.Event()

    def start(self) -> Loader:
        """Begin loading (returns self)."""
        threading.Thread(target=self._work, name="rag-ui-loader", daemon=True).start()
        return self

    def _work(self) -> None:
        """Run the load function, keeping its problem line."""
        try:
            self.problem = self._load()
        except BaseException as exc:  # noqa: BLE001 - shown in the status line
            self.problem = readable(exc)
        self.seconds = time.monotonic() - self.started
        self._done.set()

    @property
    def ready(self) -> bool:
        """Whether loading has finished (well or not)."""
        return self._done.is_set()

    def elapsed(self) -> float:
        """Seconds since loading began (or its total, once done)."""
        return self.seconds if self.seconds is not None else time.monotonic() - self.started

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds; whether loading has finished."""
        return self._done.wait(timeout)


class Turn:
    """One question answered by `run(on_token=, on_stage=, on_evidence=)` in a worker thread.

    The UI reads `stages`, `text`, `evidence`, `answer`, `error` while it runs; `version` grows on every change.
    """

    def __init__(self, run: Callable[..., Answer], loader: Loader | None = None):
        self._run = run
        self._loader = loader
        self.stop_event = threading.Event()
        self.started = time.monotonic()
        self.stages: list[tuple[str, float]] = []  # (stage, seconds after start when it began)
        self.text = ""
        self.evidence: list[Citation] | None = None
        self.answer: Answer | None = None
        self.error: str | None = None
        self.finished: float | None = None  # seconds after start when the worker ended
        self.stop_requested = 0.0  # time.monotonic() when Stop was pressed
        self.version = 0
        self._thread = threading.Thread(target=self._work, name="rag-ui-turn", daemon=True)

    def start(self) -> Turn:
        """Start the worker (returns self)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the worker to stop at its next token or step."""
        if not self.stop_event.is_set():
            self.stop_requested = time.monotonic()
        self.stop_event.set()
        self.version += 1

    @property
    def running(self) -> bool:
        """Whether the worker is still working."""
        return self._thread.is_alive()

    @property
    def stopped(self) -> bool:
        """Whether Stop ended this turn before an answer was ready."""
        return self.stop_event.is_set() and self.answer is None and self.error is None

    @property
    def stage(self) -> str:
        """The current stage ("starting" before the first)."""
        return self.stages[-1][0] if self.stages else "starting"

    def elapsed(self) -> float:
        """Seconds since the question was asked (frozen when the worker ended)."""
        return self.finished if self.finished is not None else time.monotonic() - self.started

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the worker; whether it has ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ------------------------------------------------------------ worker side

    def _check(self) -> None:
        """Raise Stopped when Stop was pressed."""
        if self.stop_event.is_set():
            raise Stopped

    def _on_token(self, text: str) -> None:
        """Streamed answer text."""
        self._check()
        self.text += text
        self.version += 1

    def _on_stage(self, name: str) -> None:
        """A step begins."""
        if name != "done":  # a finished answer is kept, even if Stop came during its last step
            self._check()
        self.stages.append((name, self.elapsed()))
        self.version += 1

    def _on_evidence(self, evidence: list[Citation]) -> None:
        """The best sentence of each retrieved passage, before the answer."""
        self._check()
        self.evidence = list(evidence)
        self.version += 1

    def _wait_for_models(self) -> None:
        """While the models load at start-up, show the 'loading' stage and wait (Stop still works)."""
        if self._loader is None or self._loader.ready:
            return
        self._on_stage("loading")
        while not self._loader.wait(0.2):
            self._check()

    def _work(self) -> None:
        """Run the question with the stop handler installed for every model call of this thread."""
        token = _STOP_HANDLER.set(_StopOnToken(self.stop_event))
        try:
            self._wait_for_models()
            self.answer = self._run(on_token=self._on_token, on_stage=self._on_stage, on_evidence=self._on_evidence)
        except Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - shown to the user, never a traceback
            self.error = readable(exc)
        finally:
            _STOP_HANDLER.reset(token)
            self.finished = time.monotonic() - self.started
            self.version += 1
