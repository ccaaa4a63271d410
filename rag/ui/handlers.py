"""Event handlers of the web UI, bound to one shared RagService: asking with live stages and Stop, documents, settings."""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from ..answer.followup import history_pairs
from ..errors import RagError
from ..search.filters import parse_as_of
from . import cards, render
from .export import write_export
from ..service import RagService
from .turns import Loader, Turn, readable

log = logging.getLogger("rag.ui")

POLL = 0.1  # seconds between looks at a running turn
HEARTBEAT = 0.5  # the elapsed time on screen is refreshed at least this often
STOP_GRACE = 15.0  # seconds to wait for the worker after Stop before giving the screen back anyway


def new_session() -> dict[str, Any]:
    """Per-browser-tab state: an id (for Stop), the answers so far (for follow-ups) and each turn's sources HTML."""
    return {"id": "", "answers": [], "panels": [], "pending": None}


STATUS_SECONDS = 5.0  # how often the status line re-reads the document count once loaded


class Handlers:
    """The UI's event handlers; `turns` maps a browser session id to its running question."""

    def __init__(self, service: RagService, loader: Loader | None = None):
        self.service = service
        self.loader = loader
        self.turns: dict[str, Turn] = {}
        self.busy: set[str] = set()  # tabs with a question queued or running

    # ------------------------------------------------------------ status and loading

    def status_line(self) -> str:
        """HTML line above the tabs: loading state, then index, documents and model."""
        if self.loader is not None and not self.loader.ready:
            return (f'<span class="rag-loading">Loading the model and the embedder… {self.loader.elapsed():.0f} s'
                    "</span> (a question asked now waits for it)")
        index = Path(self.service.settings.index)
        where = f'<code title="{cards.esc(index)}">{cards.esc(index.name or index)}</code>'  # full path on hover
        try:
            rows = self.service.documents()
        except BaseException as exc:  # noqa: BLE001
            return f"⚠️ Index {where}: {cards.esc(readable(exc))}"
        problem = self.loader.problem if self.loader is not None else None
        note = f" · ⚠️ {cards.esc(problem)}" if problem else " · ready"
        if not rows:
            return (f"No index at {where} yet: add files in the <b>Documents</b> tab, or run "
                    "<code>rag index examples/corpus</code>.")
        model = cards.esc(self.service.model_label())
        return f"Index {where}: {cards.plural(len(rows), 'document')} · model <code>{model}</code>{note}"

    def tick(self) -> tuple[str, Any]:
        """Timer: refresh the status line every second while loading, then every STATUS_SECONDS, so its document
        count follows an index that changes underneath (`rag index --watch`, another `rag index`)."""
        loading = self.loader is not None and not self.loader.ready
        return self.status_line(), gr.Timer(value=1.0 if loading else STATUS_SECONDS, active=True)

    # ------------------------------------------------------------ asking

    def queue_question(self, question: str, chat: list, session: dict, as_of: str | None = None) -> tuple:
        """Show the question at once with a waiting bubble; the queued `respond` answers it (one at a time per tab),
        as of the day in the as-of box (empty: today)."""
        question = (question or "").strip()
        try:
            day = parse_as_of(as_of)
        except RagError as exc:
            gr.Warning(str(exc).replace("--as-of", "As of"))
            return gr.skip(), gr.skip(), {**session, "pending": None}, gr.skip(), gr.skip()
        session = {**session, "id": session.get("id") or uuid.uuid4().hex}
        if session["id"] in self.busy:
            gr.Warning("Wait for the answer, or press Stop, before asking again.")
            return gr.skip(), gr.skip(), {**session, "pending": None}, gr.skip(), gr.skip()
        if not question:
            return gr.skip(), gr.skip(), {**session, "pending": None}, gr.skip(), gr.skip()
        self.busy.add(session["id"])
        waiting = [("queued", 0.0)] if self.turns else []  # another tab's question holds the model
        bubble = render.running_message(render.progress_html(waiting, 0.0), "")
        chat = list(chat or []) + [{"role": "user", "content": question}, {"role": "assistant", "content": bubble}]
        session = {**session, "pending": question, "as_of": day}
        return chat, "", session, gr.update(visible=False), gr.update(visible=True, interactive=True)

    def respond(self, chat: list, session: dict) -> Iterator[tuple]:
        """Answer the pending question: stages, early evidence and streamed text as they come, then the result."""
        question = session.get("pending")
        if not question:  # nothing was queued by this click: leave the screen as it is
            yield (gr.skip(),) * 7
            return
        session = {**session, "pending": None}
        number = len(session["panels"]) + 1
        history = history_pairs(session["answers"])  # the assistant decides whether it is a follow-up
        as_of = session.get("as_of")
        turn = Turn(lambda **callbacks: self.service.ask(question, history, as_of=as_of, **callbacks), self.loader).start()
        self.turns[session["id"]] = turn
        try:
            yield from self._follow(turn, question, number, chat, session)
        finally:
            self.turns.pop(session["id"], None)
            self.busy.discard(session["id"])

    def _follow(self, turn: Turn, question: str, number: int, chat: list, session: dict) -> Iterator[tuple]:
        """Yield screen updates while the turn runs, then its final state."""
        seen, shown, evidence_shown = -1, 0.0, False
        keep = gr.update()
        while not turn.wait(POLL):
            if turn.stop_event.is_set() and time.monotonic() - turn.stop_requested > STOP_GRACE:
                break  # the worker ends on its own; the screen is given back now
            if turn.version == seen and time.monotonic() - shown < HEARTBEAT:
                continue
            seen, shown = turn.version, time.monotonic()
            state = "stopping" if turn.stop_event.is_set() else "running"
            progress = render.progress_html(turn.stages, turn.elapsed(), _count(turn.evidence), state)
            chat[-1] = {"role": "assistant", "content": render.running_message(progress, turn.text)}
            sources = keep
            if turn.evidence is not None and not evidence_shown:
                evidence_shown = True
                sources = self._evidence_panel(turn, question, number, session)
            yield chat, sources, session, keep, keep, keep, keep
        yield self._final(turn, number, chat, session)

    def _evidence_panel(self, turn: Turn, question: str, number: int, session: dict) -> str:
        """The sources panel with this turn's early evidence on top."""
        try:
            docs = {d.source: d for d in self.service.documents()}
        except BaseException:  # noqa: BLE001 - titles are a nicety here
            docs = {}
        early = render.render_evidence(question, turn.evidence or [], number, docs)
        return render.render_panel(session["panels"] + [early])

    def _final(self, turn: Turn, number: int, chat: list, session: dict) -> tuple:
        """The last update of a turn: the checked answer, an error line, or what was written before Stop."""
        export, receipt = gr.update(), gr.update()
        if turn.answer is not None:
            answer = turn.answer
            session = {**session, "answers": session["answers"] + [answer],
                       "panels": session["panels"] + [render.render_sources(answer, number)]}
            content = render.format_answer(answer, number)
            export = gr.update(value=str(write_export(session["answers"], str(self.service.settings.index))),
                               visible=True)
            receipt = self._receipt(answer, number)
        elif turn.error is not None:
            content = render.error_message(turn.error)
        else:
            progress = render.progress_html(turn.stages, turn.elapsed(), _count(turn.evidence), "stopped")
            content = render.stopped_message(progress, turn.text)
        chat[-1] = {"role": "assistant", "content": content}
        return (chat, render.render_panel(session["panels"]), session, gr.update(visible=True),
                gr.update(visible=False), export, receipt)

    def _receipt(self, answer: Any, number: int) -> Any:
        """The receipt download of the latest answer (hidden when it cannot be written)."""
        try:
            folder = Path(tempfile.mkdtemp(prefix="rag-receipt-"))
            path = self.service.write_receipt(answer, folder / f"rag-receipt-{number}.json")
        except BaseException as exc:  # noqa: BLE001 - the answer stands without its receipt
            log.warning("no receipt: %s", readable(exc))
            return gr.update(value=None, visible=False)
        return gr.update(value=str(path), visible=True)

    def stop(self, session: dict) -> Any:
        """Stop button: the running question of this browser tab stops at its next token."""
        turn = self.turns.get((session or {}).get("id", ""))
        if turn is not None:
            turn.stop()
        return gr.update(interactive=False)

    def clear(self) -> tuple:
        """New conversation: empty chat, sources and history."""
        hidden = gr.update(value=None, visible=False)
        return [], render.render_panel([]), new_session(), hidden, hidden

    def pick_example(self, event: gr.SelectData) -> str:
        """An example question clicked in the empty chat goes into the question box."""
        value = event.value
        return value.get("text", "") if isinstance(value, dict) else str(value)

    # ------------------------------------------------------------ documents

    def document_view(self, request: Any) -> str:
        """HTML of a whole indexed document scrolled to a quote; `request` is [source, start, end] from the browser."""
        try:
            source, start, end = request
            return cards.document_view(self.service.document(str(source)), int(start), int(end))
        except BaseException as exc:  # noqa: BLE001
            return f'<div class="rag-note">⚠️ {cards.esc(readable(exc))}</div>'

    def documents_update(self, keep: str | None = None) -> tuple[Any, Any]:
        """The documents table and the document chooser, fresh (still choosing `keep` if it is there)."""
        try:
            rows = self.service.documents()
        except BaseException as exc:  # noqa: BLE001
            gr.Warning(readable(exc))
            rows = []
        chosen = keep if any(d.source == keep for d in rows) else None
        return gr.update(value=render.document_rows(rows)), gr.update(choices=render.document_choices(rows), value=chosen)

    def upload(self, files: list[str] | None, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple:
        """Add files to the index (a file uploaded again under the same name replaces and re-indexes it)."""
        if not files:
            return ("Choose one or more files first.", *self.documents_update(), self.status_line(), gr.update())
        progress(0, desc="Indexing")
        try:
            summary = self.service.upload(files, progress=True).summary()
        except BaseException as exc:  # noqa: BLE001
            summary = f"⚠️ {readable(exc)}"
        return (summary, *self.documents_update(), self.status_line(), None)

    def pick_row(self, event: gr.SelectData) -> Any:
        """Clicking a row of the documents table chooses that document."""
        row = event.row_value or []
        return gr.update(value=row[3]) if len(row) > 3 else gr.update()

    def ask_delete(self, source: str | None) -> tuple:
        """First step of deleting: name the document and show the confirm buttons."""
        if not source:
            return "Choose a document first.", gr.update(visible=False)
        return f"Delete **{source}** from the index? Files outside the index folder stay on disk.", gr.update(visible=True)

    def delete(self, source: str | None) -> tuple:
        """Remove the chosen document from the index."""
        return self._document_action(source, self.service.delete_document, "Deleted")

    def reindex(self, source: str | None) -> tuple:
        """Read the chosen document's file again and re-index it if it changed."""
        return self._document_action(source, self.service.reindex_document, "Re-read")

    def _document_action(self, source: str | None, action: Any, verb: str) -> tuple:
        """Run a per-document action; its message, the fresh table and chooser, the status line, confirm hidden."""
        if not source:
            message = "Choose a document first."
        else:
            try:
                report = action(source)
                changed = "updated" if report.updated else ("removed" if report.removed else "unchanged")
                message = (f"{verb} **{source}** ({changed}). The index now holds "
                           f"{cards.plural(report.documents, 'document')}, {cards.plural(report.chunks, 'passage')}.")
            except BaseException as exc:  # noqa: BLE001
                message = f"⚠️ {readable(exc)}"
        return (message, *self.documents_update(keep=source), self.status_line(), gr.update(visible=False))

    # ------------------------------------------------------------ settings

    def apply_settings(self, index: str, spec: str, top_k: float) -> tuple:
        """Switch index, model or passages for everyone; a readable line either way."""
        try:
            self.service.configure(index=index or None, llm_spec=spec, top_k=int(top_k))
            problem = self.service.warm_up() if index else None
            message = (f"Using index `{self.service.settings.index}`, model `{self.service.model_label()}`, "
                       f"{cards.plural(self.service.settings.answer.passages, 'passage')} per answer.")
            if problem:
                message += f"\n\n⚠️ {problem}"
        except BaseException as exc:  # noqa: BLE001
            message = f"⚠️ {readable(exc)}"
        return (message, self.status_line(), *self.documents_update())


def _count(evidence: list | None) -> int | None:
    """How many evidence sentences arrived (None before retrieval is done)."""
    return None if evidence is None else len(evidence)
