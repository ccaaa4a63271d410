"""Web UI: chat with cited, streamed answers, a sources panel with highlighted quotes, uploads. `python app.py`."""

from __future__ import annotations

import argparse
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: this machine may be offline

import gradio as gr  # noqa: E402

from ..config import load_settings
from ..errors import RagError
from ..answer.followup import follow_up_history
from ..ingest.readers import SUPPORTED_SUFFIXES
from . import render
from .service import RagService, check_exposure, launch_options, parse_auth

log = logging.getLogger("rag.app")

EXAMPLES = ["Why did Armenia cancel CSTO exercises?", "And what did Kyrgyzstan do?",
            "Which countries make up Central Asia?"]
STREAM_INTERVAL = 0.08  # seconds between screen updates while tokens arrive

# Clicking an [n] marker scrolls the sources panel to the passage (opening a collapsed section) and flashes it.
HEAD = """<script>
document.addEventListener('click', (event) => {
  const link = event.target.closest('a.rag-cite, a[href^="#src-"]');
  if (!link) return;
  const target = document.getElementById(link.getAttribute('href').slice(1));
  if (!target) return;
  event.preventDefault();
  for (let d = target.closest('details'); d; d = d.parentElement.closest('details')) d.open = true;
  target.scrollIntoView({behavior: 'smooth', block: 'center'});
  target.classList.add('flash');
  setTimeout(() => target.classList.remove('flash'), 1500);
}, true);
</script>"""


def readable(exc: BaseException) -> str:
    """The message a user sees for a failure: RagErrors as they are, anything else in one line."""
    if isinstance(exc, RagError):
        return str(exc)
    log.exception("unexpected error in the UI", exc_info=exc)
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    return f"unexpected error ({type(exc).__name__}: {first_line}); see the server log"


def new_session() -> dict[str, list]:
    """Per-browser-tab state: the answers so far (for follow-ups) and each turn's sources HTML."""
    return {"answers": [], "panels": []}


def stream_job(job: Callable[[Callable[[str], None]], Any], outcome: dict[str, Any]) -> Iterator[str]:
    """Run job(on_token) in a thread, yielding the text so far as tokens arrive (throttled).

    When the iterator ends, outcome holds "result", or "error" as a readable line.
    """
    tokens: queue.Queue[str] = queue.Queue()

    def work() -> None:
        try:
            outcome["result"] = job(tokens.put)
        except BaseException as exc:  # noqa: BLE001 - shown to the user, never a traceback
            outcome["error"] = readable(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    partial, shown = "", 0.0
    while worker.is_alive() or not tokens.empty():
        try:
            partial += tokens.get(timeout=0.05)
        except queue.Empty:
            continue
        if time.monotonic() - shown > STREAM_INTERVAL:
            shown = time.monotonic()
            yield partial
    worker.join()


# ---------------------------------------------------------------- handlers


def make_handlers(service: RagService) -> dict[str, Any]:
    """Event handlers bound to the shared service."""

    def respond(question: str, chat: list, session: dict):
        """Stream one answer into the chat, then replace it with the linked answer and show its sources."""
        question = (question or "").strip()
        if not question:
            yield chat, gr.update(), render.render_panel(session["panels"]), session
            return
        chat = list(chat or []) + [{"role": "user", "content": question}, {"role": "assistant", "content": "…"}]
        yield chat, "", render.render_panel(session["panels"]), session
        history = follow_up_history(session["answers"], question)
        turn = len(session["panels"]) + 1

        def job(on_token: Callable[[str], None]) -> tuple[Any, str]:
            answer = service.ask(question, history, on_token=on_token)
            return answer, render.render_sources(answer, turn)

        outcome: dict[str, Any] = {}
        for partial in stream_job(job, outcome):
            chat[-1] = {"role": "assistant", "content": render.streaming_text(partial)}
            yield chat, "", gr.update(), session
        if "error" in outcome:
            chat[-1] = {"role": "assistant", "content": f"⚠️ {outcome['error']}"}
        else:
            answer, panel = outcome["result"]
            session = {"answers": session["answers"] + [answer], "panels": session["panels"] + [panel]}
            chat[-1] = {"role": "assistant", "content": render.format_answer(answer, turn)}
        yield chat, "", render.render_panel(session["panels"]), session

    def clear():
        return [], render.render_panel([]), new_session()

    def upload(files: list[str] | None, progress=gr.Progress(track_tqdm=True)):
        if not files:
            return "Choose one or more files first.", documents_table(), status_line(), gr.update()
        progress(0, desc="Indexing")
        try:
            summary = service.upload(files, progress=True).summary()
        except BaseException as exc:  # noqa: BLE001
            summary = f"⚠️ {readable(exc)}"
        return summary, documents_table(), status_line(), None

    def documents_table():
        try:
            rows = render.document_rows(service.documents())
        except BaseException as exc:  # noqa: BLE001
            gr.Warning(readable(exc))
            rows = []
        return gr.update(value=rows)

    def apply_settings(index: str, spec: str, top_k: float):
        try:
            service.configure(index=index or None, llm_spec=spec, top_k=int(top_k))
            problem = service.warm_up() if index else None
            message = f"Using index `{service.settings.index}`, model `{service.model_label()}`, " \
                      f"{service.settings.answer.passages} passages per answer."
            if problem:
                message += f"\n\n⚠️ {problem}"
        except BaseException as exc:  # noqa: BLE001
            message = f"⚠️ {readable(exc)}"
        return message, status_line(), documents_table()

    def status_line() -> str:
        where = f"`{service.settings.index}`"
        try:
            rows = service.documents()
        except BaseException as exc:  # noqa: BLE001
            return f"⚠️ Index {where}: {readable(exc)}"
        if not rows:
            return f"No index at {where} yet: add files in the **Documents** tab, or run `rag index examples/corpus`."
        return f"Index {where}: {len(rows)} documents · model `{service.model_label()}`"

    return {"respond": respond, "clear": clear, "upload": upload, "documents_table": documents_table,
            "apply_settings": apply_settings, "status_line": status_line}


# ---------------------------------------------------------------- layout


def build_app(service: RagService) -> gr.Blocks:
    """The Blocks app for a service."""
    h = make_handlers(service)
    with gr.Blocks(title="rag — cited answers from your documents") as demo:
        session = gr.State(new_session())
        gr.Markdown("## rag — answers from your documents, every claim backed by a verified quote")
        status = gr.Markdown(h["status_line"](), elem_id="status")
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="Chat", elem_id="chat", height=560, feedback_options=None, buttons=["copy"],
                                      placeholder="Ask about your documents; answers cite passages as [n].")
                    with gr.Row():
                        question = gr.Textbox(placeholder="Ask a question, e.g. Why did Armenia cancel CSTO exercises?",
                                              show_label=False, scale=5, elem_id="question", autofocus=True)
                        ask = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    with gr.Row():
                        gr.Examples(EXAMPLES, inputs=question, label="Try")
                        new = gr.Button("New conversation", size="sm", scale=0)
                with gr.Column(scale=2):
                    sources = gr.HTML(render.render_panel([]), label="Sources", elem_id="sources")
        with gr.Tab("Documents"):
            files = gr.File(label="Add files to the index (txt, md, html, pdf, docx)", file_count="multiple",
                            file_types=sorted(SUPPORTED_SUFFIXES), elem_id="upload")
            add = gr.Button("Add to index", variant="primary", elem_id="add")
            summary = gr.Markdown(elem_id="upload-summary")
            table = gr.Dataframe(headers=["source", "date", "passages", "characters", "title"],
                                 value=render.document_rows(service.documents()), interactive=False,
                                 elem_id="documents", wrap=True, column_widths=["26%", "11%", "9%", "10%", "44%"])
            refresh = gr.Button("Refresh list", size="sm")
        with gr.Tab("Settings"):
            index_box = gr.Dropdown(service.index_choices(), value=str(service.settings.index), label="Index folder",
                                    allow_custom_value=True, info="A folder made by `rag index`; uploads create one.")
            spec_box = gr.Textbox(service.settings.llm.spec, label="LLM", elem_id="llm-spec",
                                  info="'local', a .gguf path or 'provider:model' (openai:gpt-4o-mini)")
            k_box = gr.Slider(1, 10, value=service.settings.answer.passages, step=1, label="Passages per answer")
            apply = gr.Button("Apply (for everyone using this server)", elem_id="apply")
            settings_msg = gr.Markdown(elem_id="settings-msg")

        ask_args = dict(fn=h["respond"], inputs=[question, chat, session], outputs=[chat, question, sources, session],
                        concurrency_limit=1, concurrency_id="llm")
        ask.click(**ask_args)
        question.submit(**ask_args)
        new.click(h["clear"], outputs=[chat, sources, session])
        chat.clear(h["clear"], outputs=[chat, sources, session])
        add.click(h["upload"], inputs=files, outputs=[summary, table, status, files], concurrency_id="llm",
                  concurrency_limit=1)
        refresh.click(h["documents_table"], outputs=table)
        apply.click(h["apply_settings"], inputs=[index_box, spec_box, k_box], outputs=[settings_msg, status, table],
                    concurrency_id="llm", concurrency_limit=1)
        demo.load(h["status_line"], outputs=status, show_progress="hidden")
        demo.load(h["documents_table"], outputs=table, show_progress="hidden")
    demo.queue(default_concurrency_limit=4)
    return demo


# ---------------------------------------------------------------- launching


def serve(service: RagService, host: str | None = None, port: int | None = None, share: bool = False) -> None:
    """Launch the UI for a service (blocks): queue on, uploads capped, optional basic auth."""
    settings = service.settings
    host, port = launch_options(settings, host, port)
    check_exposure(host, settings.ui.auth, share)
    auth = parse_auth(settings.ui.auth)
    problem = service.warm_up()
    if problem:
        print(f"note: {problem}", flush=True)
    build_app(service).launch(server_name=host, server_port=port, share=share, auth=auth, css=render.CSS, head=HEAD,
                              max_file_size=f"{settings.ui.max_upload_mb}mb", footer_links=[], show_error=False)


def main(host: str | None = None, port: int | None = None, share: bool = False,
         index: str | Path | None = None) -> None:
    """Start the UI on the default (or given) index with the configured models; blocks until interrupted."""
    settings = load_settings(index=Path(index) if index else None)
    serve(RagService(settings), host, port, share)


def cli() -> None:
    """`python app.py [--host H] [--port P] [--share] [--index DIR]`."""
    parser = argparse.ArgumentParser(description="Web UI for rag: cited answers from your documents.")
    parser.add_argument("--host", help="interface to listen on [env GRADIO_SERVER_NAME; default 127.0.0.1]")
    parser.add_argument("--port", type=int, help="port [env GRADIO_SERVER_PORT; default 7860]")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    parser.add_argument("--index", help="index folder [env RAG_INDEX; default index/default]")
    args = parser.parse_args()
    try:
        main(args.host, args.port, args.share, args.index)
    except RagError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    cli()
