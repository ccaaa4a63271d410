"""What the web UI does, without gradio: one shared retriever and chat model, asks, uploads, settings."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import ConfigError, IndexNotFoundError, RagError

if TYPE_CHECKING:
    from ..index.embed import Embedder
    from ..index.build import IndexReport
    from ..search.retriever import Retriever
    from ..types import Answer

UPLOADS = "uploads"


def safe_filename(name: str) -> str:
    """A file name that stays inside the uploads folder: no directories, no leading dots, plain characters."""
    base = re.split(r"[\\/]", name)[-1]
    base = re.sub(r"[^\w.\-]+", "_", base).strip("._")
    if not base:
        base = "upload"
    stem, dot, suffix = base.rpartition(".")
    return (stem[:100] + dot + suffix[:10]) if dot and stem else base[:110]


@dataclass
class UploadResult:
    """What an upload did: the indexing report plus the files refused before indexing."""

    report: IndexReport | None
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)

    def summary(self) -> str:
        """Markdown summary for the upload panel."""
        lines = []
        r = self.report
        if r is not None:
            lines.append(f"**Index now holds {r.documents} documents, {r.chunks} passages** ({r.seconds:.1f} s)")
            for label, names in (("Added", r.added), ("Updated", r.updated), ("Unchanged", r.unchanged)):
                if names:
                    lines.append(f"- {label}: {', '.join(_short(n) for n in names)}")
        skipped = self.rejected + ([(_short(s.source), s.reason) for s in r.skipped] if r else [])
        lines += [f"- Skipped {name}: {reason}" for name, reason in skipped]
        return "\n".join(lines) or "Nothing to add."


def _short(name: str) -> str:
    """The file name of a path, for summaries."""
    return Path(name).name or name


class RagService:
    """State shared by every browser session: settings, the retriever and the chat model, each loaded once.

    One lock serialises asking, uploading and reconfiguring: an upload never swaps the index
    under a question being answered, and questions after it see the new documents.
    """

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None, llm: Any = None):
        self.settings = settings
        self._embedder = embedder
        self._llm = llm
        self._llm_from_settings = llm is None  # False while a model passed in by the caller is in use
        self._retriever: Retriever | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------ loading

    def embedder(self) -> Embedder:
        """The embedding model (loaded once)."""
        if self._embedder is None:
            from ..index.embed import get_embedder

            e = self.settings.embed
            self._embedder = get_embedder(e.model, e.batch_size, e.device)
        return self._embedder

    def retriever(self) -> Retriever:
        """The retriever over the current index (reopened after uploads or an index switch)."""
        with self._lock:
            if self._retriever is None:
                from ..search.retriever import Retriever

                self._retriever = Retriever(self.settings, embedder=self.embedder())
            return self._retriever

    def llm(self):
        """The chat model (built once; a local model loads its weights on first use)."""
        with self._lock:
            if self._llm is None:
                from ..llm.specs import get_chat_model

                self._llm = get_chat_model(self.settings.llm)
            return self._llm

    def model_label(self) -> str:
        """Name of the chat model for display (the configured spec's label, or the injected model's name)."""
        from ..llm.specs import chat_model_label, model_label

        injected = self._llm is not None and not self._llm_from_settings
        return chat_model_label(self._llm) if injected else model_label(self.settings.llm)

    def warm_up(self) -> str | None:
        """Open the index and load the embedder now; returns a readable problem instead of raising."""
        try:
            self.retriever().embedder.embed_query("warm up")
        except RagError as exc:
            return str(exc)
        return None

    # ------------------------------------------------------------ questions

    def ask(self, question: str, history: Sequence[tuple[str, str]] = (),
            on_token: Callable[[str], None] | None = None) -> Answer:
        """Answer a question (a follow-up when history is given) with the shared models."""
        from ..answer.assistant import answer

        if not question.strip():
            raise RagError("the question is empty: type a question first")
        with self._lock:
            return answer(question, self.settings, retriever=self.retriever(), llm=self.llm(),
                          on_token=on_token, history=list(history) or None)

    # ------------------------------------------------------------ documents and uploads

    def documents(self) -> list[dict]:
        """Summary rows of the documents in the current index ([] when there is no index yet)."""
        from ..index.store import IndexStore

        try:  # a fresh look at the live generation: no need to wait for a question being answered
            return IndexStore(self.settings.index).documents()
        except IndexNotFoundError:
            return []

    def upload(self, files: Sequence[str | Path], progress: bool = False) -> UploadResult:
        """Copy files into <index>/uploads under safe names and index them; refuse oversized or unsupported ones."""
        from ..index.build import read_files, update_index
        from ..ingest.readers import SUPPORTED_NAMES, unsupported_reason

        limit = self.settings.ui.max_upload_mb
        with self._lock:
            folder = Path(self.settings.index) / UPLOADS
            saved, rejected = [], []
            for file in map(Path, files):
                name = safe_filename(file.name)
                if reason := unsupported_reason(Path(name)):
                    rejected.append((name, f"{reason}: use {SUPPORTED_NAMES}"))
                elif not file.is_file():
                    rejected.append((name, "the uploaded file is missing"))
                elif file.stat().st_size > limit * 1024 * 1024:
                    rejected.append((name, f"larger than {limit} MB (settings ui.max_upload_mb)"))
                else:
                    folder.mkdir(parents=True, exist_ok=True)
                    saved.append(Path(shutil.copyfile(file, folder / name)))
            if not saved:
                return UploadResult(None, rejected)
            items = read_files(saved, self.settings.max_file_mb, progress)
            report = update_index(self.settings, items, self.embedder(), progress=progress)
            if report.changed:
                self._retriever = None  # the next question opens the new generation
            return UploadResult(report, rejected)

    # ------------------------------------------------------------ settings

    def configure(self, index: str | Path | None = None, llm_spec: str | None = None, top_k: int | None = None) -> None:
        """Switch index, chat model or passages per answer for everyone; bad values raise a one-line RagError."""
        with self._lock:
            if llm_spec is not None and llm_spec.strip() != self.settings.llm.spec:
                self._switch_llm(llm_spec.strip())
            if index is not None and Path(index) != Path(self.settings.index):
                self.settings.index = Path(index)
                self._retriever = None
            if top_k is not None:
                self.settings.answer.passages = int(top_k)
                self.settings.retrieve.k = max(self.settings.retrieve.k, int(top_k))

    def _switch_llm(self, spec: str) -> None:
        """Build the new chat model first, so a bad spec or missing key leaves the old one in place."""
        from ..llm.specs import get_chat_model

        candidate = self.settings.llm.model_copy(update={"spec": spec})
        if not spec:
            raise ConfigError("the LLM spec is empty: use 'local', 'provider:model' or a .gguf path")
        self._llm = get_chat_model(candidate)
        self._llm_from_settings = True
        self.settings.llm.spec = spec

    def index_choices(self) -> list[str]:
        """Index folders next to the current one (folders holding a CURRENT pointer), current first."""
        current = Path(self.settings.index)
        found = [str(p.parent) for p in sorted(current.parent.glob("*/CURRENT"))] if current.parent.is_dir() else []
        return [str(current)] + [f for f in found if Path(f) != current]


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """settings.ui.auth 'user:password' as gradio wants it."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConfigError("ui.auth must look like 'user:password' (RAG_UI__AUTH)")
    return user, password


def launch_options(settings: Settings, host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """Host and port: explicit options, else GRADIO_SERVER_NAME/GRADIO_SERVER_PORT, else settings.ui."""
    host = host or os.environ.get("GRADIO_SERVER_NAME") or settings.ui.host
    env_port = os.environ.get("GRADIO_SERVER_PORT")
    try:
        port = port or (int(env_port) if env_port else settings.ui.port)
    except ValueError:
        raise ConfigError(f"GRADIO_SERVER_PORT must be a number, not {env_port!r}") from None
    return host, port
