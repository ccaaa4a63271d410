"""Answer receipts: a JSON bundle anyone can re-check offline, later or on another machine with the same files.

A receipt holds the question, the answer, its claims with their verdicts, its warnings, and every quote (the
answer's citations and the quotes of any disagreement) with its source file's path, character span, sha256, date,
outlet and whether the file is flagged as holding text written to steer the assistant, plus the model, the settings
(no secrets), the index generation and the time. `verify_receipt` re-reads each file, compares its sha256,
re-extracts its text the way indexing does and checks that each quote still stands at its span; when it does not,
it searches the file and says where the quote moved, if anywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import RagError
from ..text import normalise
from ..types import Answer, Citation, DocumentRow
from .evidence import verify_quote

if TYPE_CHECKING:
    from ..index.backend import PassageStore

RECEIPT_VERSION = 1
_SECRET_KEYS = {"api_key", "auth", "token", "password"}


def build_receipt(answer: Answer, settings: Settings, store: PassageStore | None = None, filters: Any = None) -> dict[str, Any]:
    """The receipt of one answer; `store` (the index it came from) supplies file paths and hashes; `filters` are
    the source/date filters it was asked with."""
    files = {d.source: d for d in store.documents()} if store is not None else {}
    flagged = _flagged_sources(answer, files)
    data = answer.to_dict()
    quotes = [_quote(c, files, flagged) for c in answer.citations]
    disagreements = [
        {"what": d.what, "values": [{"value": v.value,
                                     "quotes": [_quote(c, files, flagged) for c in [v.citation, *v.also]]}
                                    for v in d.values]}
        for d in answer.disagreements
    ]
    return {
        "receipt": RECEIPT_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        **{k: data[k] for k in ("question", "answer", "refused", "refusal_reason", "as_of", "time_scope",
                                "independent_sources", "standalone_question", "model")},
        "filters": asdict(filters) if filters is not None else None,
        "claims": data["claims"],
        "warnings": data["warnings"],
        "quotes": quotes,
        "disagreements": disagreements,
        "settings": _without_secrets(settings.model_dump(mode="json")),
        "index": _index_info(settings, store),
    }


def _flagged_sources(answer: Answer, files: dict[str, DocumentRow]) -> set[str]:
    """Sources flagged as holding text written to steer the assistant: by the index's document rows, and by the
    answer's passages (all there is to go by without the index)."""
    return {d.source for d in files.values() if d.flags} | {p.source for p in answer.passages if p.flags}


def _quote(c: Citation, files: dict[str, DocumentRow], flagged: set[str]) -> dict[str, Any]:
    """One quote with what is needed to find and check it again, and whether its file is flagged."""
    doc = files.get(c.source)
    return {"n": c.n, "source": c.source, "path": (doc.path or None) if doc else None, "start": c.start, "end": c.end,
            "quote": c.quote, "verified": c.verified, "method": c.method,
            "sha256": (doc.content_hash or None) if doc else None, "date": c.date,
            "date_source": doc.date_source if doc else None, "outlet": c.outlet, "url": doc.url if doc else None,
            "flagged": c.source in flagged}


def _without_secrets(value: Any) -> Any:
    """Settings with keys, passwords and tokens left out."""
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items() if k not in _SECRET_KEYS}
    return value


def _index_info(settings: Settings, store: PassageStore | None) -> dict[str, Any]:
    """Which index answered: folder, generation, embedding model."""
    manifest = store.manifest if store is not None else {}
    return {"path": str(Path(settings.index).resolve()), "generation": store.generation if store is not None else None,
            "embedding_model": manifest.get("embedding_model"), "created": manifest.get("created")}


def write_receipt(path: Path, receipt: dict[str, Any]) -> None:
    """Write a receipt as indented UTF-8 JSON."""
    Path(path).write_text(json.dumps(receipt, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_receipt(path: Path) -> dict[str, Any]:
    """A receipt from disk; anything else is one error line."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RagError(f"cannot read receipt {path} ({error}): give a file written by rag ask --receipt") from None
    if not isinstance(data, dict) or data.get("receipt") != RECEIPT_VERSION or not isinstance(data.get("quotes"), list):
        raise RagError(f"{path} is not a rag receipt (version {RECEIPT_VERSION}): "
                       "give a file written by rag ask --receipt")
    return data


@dataclass
class Verification:
    """What re-checking a receipt found: one line per problem; ok when there is none."""

    checked: int = 0  # quotes checked
    files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def receipt_quotes(receipt: dict[str, Any]) -> list[dict[str, Any]]:
    """Every quote of a receipt: the answer's, then those of its disagreements."""
    extra = [q for d in receipt.get("disagreements") or [] for v in d.get("values", []) for q in v.get("quotes", [])]
    return [*receipt["quotes"], *extra]


def verify_receipt(receipt: dict[str, Any], root: Path | None = None, base: Path | None = None) -> Verification:
    """Re-check every quote against its file: same sha256, quote still at its span (else where it moved).

    Files are looked for under `root` (by source name) first, then at their recorded path, then beside the
    receipt (`base`)."""
    result = Verification()
    originals: dict[str, str | None] = {}
    for q in receipt_quotes(receipt):
        source = q["source"]
        if source not in originals:
            originals[source] = _check_file(q, root, base, result)
        original = originals[source]
        if original is not None:
            result.checked += 1
            _check_quote(q, original, result)
    result.files = len(originals)
    return result


def _check_file(q: dict[str, Any], root: Path | None, base: Path | None, result: Verification) -> str | None:
    """The file's text as indexing extracts it (None when it is gone), noting a changed sha256."""
    from ..ingest.readers import load_document

    candidates = [root / q["source"] if root else None, Path(q["path"]) if q.get("path") else None,
                  base / q["source"] if base else None]
    path = next((p for p in candidates if p is not None and p.is_file()), None)
    if path is None:
        looked = ", ".join(str(p) for p in candidates if p)
        result.problems.append(f"{q['source']}: file not found (looked at {looked}); pass --root FOLDER if it moved")
        return None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if q.get("sha256") and digest != q["sha256"]:
        result.problems.append(f"{q['source']}: file changed since the receipt (sha256 {q['sha256'][:12]}… is now "
                               f"{digest[:12]}…) at {path}")
    doc = load_document(path)
    if not hasattr(doc, "original"):
        result.problems.append(f"{q['source']}: cannot be read any more ({doc.reason})")
        return None
    return doc.original


def _check_quote(q: dict[str, Any], original: str, result: Verification) -> None:
    """Note a quote that no longer stands at its span, and where it moved if it is still in the file."""
    start, end = q["start"], q["end"]
    if normalise(original[start:end]) == normalise(q["quote"]):
        return
    found = verify_quote(q["quote"], original)
    where = f"moved to chars {found[0]}-{found[1]}" if found else "no longer in the file"
    result.problems.append(f"{q['source']}: quote [{q['n']}] \"{_short(q['quote'])}\" is no longer at chars "
                           f"{start}-{end}: {where}")


def _short(text: str, width: int = 60) -> str:
    """A quote on one line, cut to `width` characters."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
