"""What the web UI does, without gradio: one shared retriever and chat model, asks, uploads, settings."""

from __future__ import annotations

import ipaddress
import os
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings
from .errors import ConfigError, IndexNotFoundError, RagError

if TYPE_CHECKING:
    from .index.embed import Embedder
    from .index.build import IndexReport
    from .search.retriever import Retriever
    from .types import Answer, DocumentRow

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
        lines += self._flagged_lines()
        return "\n".join(lines) or "Nothing to add."

    def _flagged_lines(self) -> list[str]:
        """One line per file read holding text written to steer the assistant (never shown to the model)."""
        from .guard.flags import describe

        flagged = self.report.flagged if self.report is not None else []
        return [f"- ⚠ Flagged {_short(source)}: text written to steer the assistant ({describe(flags)}); it is never "
                "shown to the model nor quoted" for source, flags in flagged]


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
        # Fixed for the life of the process: a request can switch indexes only below this folder.
        root = settings.ui.index_root or Path(settings.index).expanduser().resolve().parent
        self.index_root = Path(root).expanduser().resolve()

    # ------------------------------------------------------------ loading

    def embedder(self) -> Embedder:
        """The embedding model (loaded once)."""
        if self._embedder is None:
            from .index.embed import embedder_for

            e = self.settings.embed
            self._embedder = embedder_for(e)
        return self._embedder

    def retriever(self) -> Retriever:
        """The retriever over the live generation: reopened after uploads, an index switch or an outside `rag index`."""
        with self._lock:
            if self._retriever is not None and not self._retriever.store.is_current():
                self._drop_retriever()  # another process flipped CURRENT: the next question reads the new one
            if self._retriever is None:
                from .search.retriever import Retriever

                self._retriever = Retriever(self.settings, embedder=self.embedder())
            return self._retriever

    def _drop_retriever(self) -> None:
        """Forget the retriever; the next question reopens the index.

        Not closed here: a search running outside the lock (the API) may still use it. Its store gives
        the generation back to writers when the last reference goes (CPython frees it at once).
        """
        self._retriever = None

    def llm(self):
        """The chat model (built once; a local model loads its weights on first use)."""
        with self._lock:
            if self._llm is None:
                from .llm.specs import get_chat_model

                self._llm = get_chat_model(self.settings.llm)
            return self._llm

    def model_label(self) -> str:
        """Name of the chat model for display (the configured spec's label, or the injected model's name)."""
        from .llm.specs import chat_model_label, model_label

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

    def ask(self, question: str, history: Sequence[Any] = (),
            on_token: Callable[[str], None] | None = None, **callbacks: Any) -> Answer:
        """Answer a question with the shared models; one that leans on `history` (earlier (question, answer) pairs or
        {'role', 'content'} messages) is condensed with it first.

        `callbacks`: on_evidence and on_stage, as for Assistant.ask."""
        from .answer.assistant import answer

        if not question.strip():
            raise RagError("the question is empty: type a question first")
        with self._lock:
            return answer(question, self.settings, retriever=self.retriever(), llm=self.llm(),
                          on_token=on_token, history=list(history) or None, **callbacks)

    # ------------------------------------------------------------ documents and uploads

    def documents(self) -> list[DocumentRow]:
        """Summary rows of the documents in the current index ([] when there is no index yet)."""
        from .index.backend import open_store

        try:  # a fresh look at the live generation: no need to wait for a question being answered
            with open_store(self.settings) as store:  # the embedded index or Milvus (settings.store)
                return store.documents()
        except IndexNotFoundError:
            return []

    def upload(self, files: Sequence[str | Path], progress: bool = False) -> UploadResult:
        """Copy files into <index>/uploads under safe names and index them; refuse oversized or unsupported ones."""
        from .index.build import read_files, update_index

        with self._lock:
            folder = self._uploads_folder()
            saved, rejected = [], []
            for file in map(Path, files):
                name = safe_filename(file.name)
                outcome = self._save_upload(file, folder / name)
                if isinstance(outcome, Path):
                    saved.append(outcome)
                else:
                    rejected.append((name, outcome))
            if not saved:
                return UploadResult(None, rejected)
            self._drop_retriever()  # release the live generation, so the write can remove it
            items = read_files(saved, self.settings.max_file_mb, progress)
            report = update_index(self.settings, items, self.embedder(), progress=progress)
            return UploadResult(report, rejected)

    def _uploads_folder(self) -> Path:
        """<index>/uploads, a real folder inside an index folder (never a folder that holds no index)."""
        from .index.backend import check_write_folder

        check_write_folder(self.settings)  # never into a folder holding something other than this backend's index
        folder = Path(self.settings.index) / UPLOADS
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise ConfigError(f"{folder} is not a plain folder: uploads go only into a real folder inside the index")
        return folder

    def _save_upload(self, file: Path, target: Path) -> Path | str:
        """Copy one upload to `target` (0644, replacing, never following a link there); the saved path or why not."""
        from .ingest.files import Unreadable, read_capped
        from .ingest.readers import SUPPORTED_NAMES, unsupported_reason

        if reason := unsupported_reason(target):
            return f"{reason}: use {SUPPORTED_NAMES}"
        if not file.is_file():
            return "the uploaded file is missing"
        try:  # the cap counts bytes actually read, whatever stat says
            data = read_capped(file, self.settings.ui.max_upload_mb, setting="ui.max_upload_mb")
        except Unreadable as error:
            return str(error)
        if not target.parent.is_dir():
            from .index.generations import DIR_MODE, make_root

            make_root(target.parent.parent)
            target.parent.mkdir()
            os.chmod(target.parent, DIR_MODE)
        tmp = target.with_name(f".upload-{uuid.uuid4().hex[:8]}")
        tmp.write_bytes(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # replaces a planted symlink itself, never writes through it
        return target

    # ------------------------------------------------------------ settings

    def configure(self, index: str | Path | None = None, llm_spec: str | None = None, top_k: int | None = None) -> None:
        """Switch index, chat model or passages per answer for everyone; bad values raise a one-line RagError.

        The new settings are a new object swapped in whole: the Settings a live retriever or a question being
        answered holds are never changed under it, and a bad value leaves everything as it was."""
        with self._lock:
            settings = self.settings.model_copy(deep=True)
            target = self.allowed_index(index) if index is not None else None
            if target is not None and target != Path(settings.index).resolve():
                settings.index = target
            if top_k is not None:
                settings.answer.passages = int(top_k)
                settings.retrieve.k = max(settings.retrieve.k, int(top_k))
            llm = None
            if llm_spec is not None and llm_spec.strip() != settings.llm.spec:
                settings.llm.spec = llm_spec.strip()
                llm = self._new_llm(settings)
            reopen = settings.index != self.settings.index or settings.retrieve != self.settings.retrieve
            self.settings = settings
            if llm is not None:
                self._llm, self._llm_from_settings = llm, True
            if reopen:
                self._drop_retriever()

    def allowed_index(self, index: str | Path) -> Path:
        """The resolved index folder, if it lies inside the index root; else a one-line ConfigError."""
        target = Path(index).expanduser().resolve()
        if self.index_root not in target.parents:
            raise ConfigError(f"{index} is outside the index root {self.index_root}: choose a folder inside it "
                              "(setting ui.index_root, read at start)")
        return target

    @staticmethod
    def _new_llm(settings: Settings) -> Any:
        """The chat model the settings name, built before anything changes: a bad spec or missing key raises."""
        from .llm.specs import get_chat_model

        if not settings.llm.spec:
            raise ConfigError("the LLM spec is empty: use 'local', 'provider:model' or a .gguf path")
        return get_chat_model(settings.llm)

    def index_choices(self) -> list[str]:
        """Index folders next to the current one (folders holding a CURRENT pointer), current first."""
        current = Path(self.settings.index)
        found = [str(p.parent) for p in sorted(self.index_root.glob("*/CURRENT"))] if self.index_root.is_dir() else []
        return [str(current)] + [f for f in found if Path(f).resolve() != current.resolve()]

    # ------------------------------------------------------------ start-up and single documents (UI additions)

    def load_models(self) -> str | None:
        """Open the index, load the embedder and the chat model's weights now; a readable problem, never raises."""
        problem = self.warm_up()
        try:
            from .llm.protocols import LoadsWeights

            llm = self.llm()
            if isinstance(llm, LoadsWeights):  # local GGUF models load their weights on first use otherwise
                llm.load()
        except RagError as exc:
            return f"{problem}; {exc}" if problem else str(exc)
        return problem

    def document(self, source: str) -> tuple[DocumentRow, str] | None:
        """The indexed document named `source`: (its summary row, its whole original text); None if unknown."""
        from .index.backend import open_store

        try:
            with open_store(self.settings) as store:  # the embedded index or Milvus (settings.store)
                row = next((d for d in store.documents() if d.source == source), None)
                original = store.document_original(source) if row else None
        except IndexNotFoundError:
            return None
        return None if row is None or original is None else (row, original)

    def delete_document(self, source: str) -> IndexReport:
        """Remove one document from the index (its uploaded copy too, if it was an upload); other files stay."""
        from .index.backend import open_store
        from .index.build import Unchanged, update_index

        with self._lock:
            rows = self.documents()
            target = next((d for d in rows if d.source == source), None)
            if target is None:
                raise RagError(f"{source} is not in the index (it may have been removed already): refresh the list")
            if len(rows) == 1:
                raise RagError("that is the last document: an index cannot be empty; add another file first")

            def others():
                """Every other document, read inside the writer's lock so nothing changes in between."""
                with open_store(self.settings) as store:
                    sources = store.sources_by_key()
                    for key, (_, digest) in store.document_ids_by_key().items():
                        if sources.get(key) != source:
                            yield Unchanged(source=sources.get(key, key), key=key, content_hash=digest)

            self._drop_retriever()
            report = update_index(self.settings, others(), self.embedder(), prune=True)
            self._remove_upload(target.path)
            return report

    def _remove_upload(self, path: str) -> None:
        """Delete a file if it lies in this index's uploads folder (files elsewhere belong to the user)."""
        uploads = (Path(self.settings.index) / UPLOADS).resolve()
        file = Path(path)
        if path and file.parent.resolve() == uploads and file.is_file() and not file.is_symlink():
            file.unlink()

    def write_receipt(self, answer: Answer, path: Path) -> Path:
        """Write the JSON receipt of an answer (quotes with file hashes and spans, claims, settings) to `path`."""
        from .checks.receipt import build_receipt, write_receipt
        from .index.backend import open_store

        with open_store(self.settings) as store:
            write_receipt(path, build_receipt(answer, self.settings, store))
        return path

    def reindex_document(self, source: str) -> IndexReport:
        """Read one document's file again and re-index it if it changed (e.g. an upload replaced on disk)."""
        from .index.build import read_files, update_index

        with self._lock:
            target = next((d for d in self.documents() if d.source == source), None)
            if target is None:
                raise RagError(f"{source} is not in the index: refresh the list")
            path = Path(target.path)
            if not target.path or not path.is_file():
                raise RagError(f"the file of {source} is gone ({path or 'no path recorded'}): upload it again")
            self._drop_retriever()
            items = read_files([path], self.settings.max_file_mb)
            return update_index(self.settings, items, self.embedder())


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """settings.ui.auth 'user:password' as gradio wants it."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConfigError("ui.auth must look like 'user:password' (RAG_UI__AUTH)")
    return user, password


def is_loopback(host: str) -> bool:
    """Whether a listening address stays on this machine: localhost, 127.0.0.0/8 or ::1."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # "", "0.0.0.0" parses; a host name other than localhost may resolve anywhere
        return False


def check_exposure(host: str, auth: str | None, share: bool = False) -> None:
    """Refuse (ConfigError, one line) to serve beyond loopback, or through a share link, without a login."""
    if parse_auth(auth) or (is_loopback(host) and not share):
        return
    where = "through a public share link" if share else f"on {host or 'every interface'}"
    raise ConfigError(f"the UI would be reachable from other machines {where} without a login: "
                      "set RAG_UI__AUTH=user:password, or listen on 127.0.0.1")


def launch_options(settings: Settings, host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """Host and port: explicit options, else GRADIO_SERVER_NAME/GRADIO_SERVER_PORT, else settings.ui."""
    host = host or os.environ.get("GRADIO_SERVER_NAME") or settings.ui.host
    env_port = os.environ.get("GRADIO_SERVER_PORT")
    try:
        port = port or (int(env_port) if env_port else settings.ui.port)
    except ValueError:
        raise ConfigError(f"GRADIO_SERVER_PORT must be a number, not {env_port!r}") from None
    return host, port
