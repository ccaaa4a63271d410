"""Web UI: chat with cited, streamed answers, live stages and Stop, a sources panel of cards, documents. `python app.py`.

Layout and launching live here; the handlers are in handlers.py, the HTML in render.py and cards.py.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: this machine may be offline

import gradio as gr  # noqa: E402

from ..config import load_settings  # noqa: E402
from ..errors import RagError  # noqa: E402
from ..ingest.readers import SUPPORTED_SUFFIXES  # noqa: E402
from . import render  # noqa: E402
from .handlers import STATUS_SECONDS, Handlers, new_session  # noqa: E402
from ..service import RagService, check_exposure, launch_options, parse_auth  # noqa: E402
from .theme import CSS, HEAD, SOURCES_JS  # noqa: E402
from .turns import Loader, readable  # noqa: E402

log = logging.getLogger("rag.app")

# Questions the sample corpus (examples/corpus) answers, each standing on its own.
EXAMPLES = ["Why did Armenia cancel CSTO exercises?", "Which news agency did Lavrov talk to?",
            "How long did Rahmon speak?"]
THEME = gr.themes.Default(primary_hue="blue", secondary_hue="slate")

__all__ = ["EXAMPLES", "build_app", "cli", "main", "readable", "serve"]


def _chat_column() -> dict[str, gr.components.Component]:
    """Chat, question row (Ask / Stop in the same place), and the conversation tools."""
    c: dict[str, gr.components.Component] = {}
    c["chat"] = gr.Chatbot(label="Chat", elem_id="chat", height=560, feedback_options=None, buttons=["copy"],
                           examples=[{"text": q} for q in EXAMPLES],
                           placeholder="Ask about your documents: every claim comes with a checked quote.")
    with gr.Row(elem_id="ask-row", equal_height=True):
        c["question"] = gr.Textbox(placeholder="Ask a question…", show_label=False, scale=5, min_width=120,
                                   elem_id="question", autofocus=True, lines=1, max_lines=4, container=False)
        c["ask"] = gr.Button("Ask", variant="primary", scale=0, min_width=76, elem_id="ask")
        c["stop"] = gr.Button("Stop", variant="stop", scale=0, min_width=76, elem_id="stop", visible=False)
    with gr.Row(elem_id="chat-tools"):
        c["new"] = gr.Button("New conversation", size="sm", scale=0, elem_id="new")
        # the day questions are asked from: nothing published after it is read, "this week" is the week before it
        c["as_of"] = gr.Textbox(placeholder="as of: today (or YYYY-MM-DD)", show_label=False, container=False,
                                scale=0, min_width=190, max_lines=1, elem_id="as-of")
        c["export"] = gr.DownloadButton("Export conversation (.md)", size="sm", scale=0, elem_id="export",
                                        visible=False)
        c["receipt"] = gr.DownloadButton("Receipt of the last answer (.json)", size="sm", scale=0, elem_id="receipt",
                                         visible=False)
    return c


def _documents_tab(service: RagService) -> dict[str, gr.components.Component]:
    """Upload, the list of documents with full titles (and a flag for those holding text written to steer the
    assistant), and per-document re-read and delete."""
    c: dict[str, gr.components.Component] = {}
    c["files"] = gr.File(label="Add files to the index (txt, md, html, pdf, docx); a file uploaded again under the "
                               "same name replaces the old one", file_count="multiple",
                         file_types=sorted(SUPPORTED_SUFFIXES), elem_id="upload")
    c["add"] = gr.Button("Add to index", variant="primary", elem_id="add")
    c["summary"] = gr.Markdown(elem_id="upload-summary")
    rows = service.documents()
    c["table"] = gr.Dataframe(headers=render.DOCUMENT_HEADERS, value=render.document_rows(rows),
                              interactive=False, elem_id="documents", wrap=True,
                              column_widths=["360px", "130px", "110px", "230px", "90px", "260px"])
    c["pick"] = gr.Dropdown(render.document_choices(rows), label="Document (or click its row above)",
                            elem_id="doc-pick")
    with gr.Row(elem_id="doc-actions"):
        c["reread"] = gr.Button("Re-read its file", size="sm", scale=0, min_width=140, elem_id="reread")
        c["delete"] = gr.Button("Delete from index…", size="sm", variant="stop", scale=0, min_width=140,
                                elem_id="delete")
    c["doc_msg"] = gr.Markdown(elem_id="doc-msg")
    with gr.Row(visible=False, elem_id="confirm-row") as confirm:
        c["confirm_yes"] = gr.Button("Yes, delete it", variant="stop", size="sm", elem_id="confirm-delete")
        c["confirm_no"] = gr.Button("Cancel", size="sm", elem_id="cancel-delete")
    c["confirm"] = confirm
    c["refresh"] = gr.Button("Refresh list", size="sm", elem_id="refresh")
    return c


def _settings_tab(service: RagService) -> dict[str, gr.components.Component]:
    """Index folder, chat model and passages per answer."""
    s = service.settings
    c: dict[str, gr.components.Component] = {}
    c["index"] = gr.Dropdown(service.index_choices(), value=str(s.index), label="Index folder", allow_custom_value=True,
                             info="A folder made by `rag index`; uploads create one.")
    c["spec"] = gr.Textbox(s.llm.spec, label="LLM", elem_id="llm-spec",
                           info="'local', a .gguf path or 'provider:model' (openai:gpt-4o-mini)")
    c["k"] = gr.Slider(1, 10, value=s.answer.passages, step=1, label="Passages per answer")
    c["apply"] = gr.Button("Apply (for everyone using this server)", elem_id="apply")
    c["msg"] = gr.Markdown(elem_id="settings-msg")
    return c


def build_app(service: RagService, loader: Loader | None = None) -> gr.Blocks:
    """The Blocks app for a service (a loader shows the models loading until they are ready)."""
    h = Handlers(service, loader)

    def document_view(request: Any) -> str:
        """Server function of the sources panel: a whole document, scrolled to a quote."""
        return h.document_view(request)

    with gr.Blocks(title="rag — cited answers from your documents") as demo:
        session = gr.State(new_session())
        gr.Markdown("## rag — answers from your documents, every claim checked against a verbatim quote",
                    elem_id="title")
        status = gr.HTML(h.status_line(), elem_id="status")
        timer = gr.Timer(1.0 if loader is not None and not loader.ready else STATUS_SECONDS)  # see Handlers.tick
        with gr.Tab("Chat"):
            with gr.Row(elem_id="chat-row"):
                with gr.Column(scale=3, min_width=340):
                    c = _chat_column()
                with gr.Column(scale=2, min_width=300):
                    sources = gr.HTML(render.render_panel([]), elem_id="sources", js_on_load=SOURCES_JS,
                                      server_functions=[document_view])
        with gr.Tab("Documents"):
            d = _documents_tab(service)
        with gr.Tab("Settings"):
            s = _settings_tab(service)

        timer.tick(h.tick, outputs=[status, timer], show_progress="hidden")
        queue_args = dict(fn=h.queue_question, inputs=[c["question"], c["chat"], session, c["as_of"]],
                          outputs=[c["chat"], c["question"], session, c["ask"], c["stop"]], queue=False)
        answer_args = dict(fn=h.respond, inputs=[c["chat"], session],
                           outputs=[c["chat"], sources, session, c["ask"], c["stop"], c["export"], c["receipt"]],
                           concurrency_limit=1, concurrency_id="llm", show_progress="hidden")
        c["ask"].click(**queue_args).then(**answer_args)
        c["question"].submit(**queue_args).then(**answer_args)
        c["chat"].example_select(h.pick_example, outputs=c["question"], queue=False).then(
            **queue_args).then(**answer_args)
        c["stop"].click(h.stop, inputs=session, outputs=c["stop"], queue=False)
        cleared = [c["chat"], sources, session, c["export"], c["receipt"]]
        c["new"].click(h.clear, outputs=cleared)
        c["chat"].clear(h.clear, outputs=cleared)

        docs_out = [d["table"], d["pick"]]
        d["add"].click(h.upload, inputs=d["files"], outputs=[d["summary"], *docs_out, status, d["files"]],
                       concurrency_id="llm", concurrency_limit=1)
        d["table"].select(h.pick_row, outputs=d["pick"], queue=False)
        d["delete"].click(h.ask_delete, inputs=d["pick"], outputs=[d["doc_msg"], d["confirm"]], queue=False)
        d["confirm_no"].click(lambda: ("", gr.update(visible=False)), outputs=[d["doc_msg"], d["confirm"]], queue=False)
        action_out = [d["doc_msg"], *docs_out, status, d["confirm"]]
        d["confirm_yes"].click(h.delete, inputs=d["pick"], outputs=action_out, concurrency_id="llm",
                               concurrency_limit=1)
        d["reread"].click(h.reindex, inputs=d["pick"], outputs=action_out, concurrency_id="llm", concurrency_limit=1)
        d["refresh"].click(h.documents_update, outputs=docs_out)
        s["apply"].click(h.apply_settings, inputs=[s["index"], s["spec"], s["k"]],
                         outputs=[s["msg"], status, *docs_out], concurrency_id="llm", concurrency_limit=1)
        demo.load(h.status_line, outputs=status, show_progress="hidden")
        demo.load(h.documents_update, outputs=docs_out, show_progress="hidden")
    demo.queue(default_concurrency_limit=4)
    return demo


# ---------------------------------------------------------------- launching


def serve(service: RagService, host: str | None = None, port: int | None = None, share: bool = False) -> None:
    """Launch the UI for a service (blocks): models load in the background while the page already shows it."""
    settings = service.settings
    host, port = launch_options(settings, host, port)
    check_exposure(host, settings.ui.auth, share)
    auth = parse_auth(settings.ui.auth)
    loader = Loader(service.load_models).start()
    build_app(service, loader).launch(server_name=host, server_port=port, share=share, auth=auth, css=CSS, head=HEAD,
                                      theme=THEME, max_file_size=f"{settings.ui.max_upload_mb}mb", footer_links=[],
                                      show_error=False)


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
