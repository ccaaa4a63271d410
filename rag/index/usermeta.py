"""Corrections to document metadata that outlive re-indexing: sidecar entries (`rag index --meta`) and the
user's own (`rag docs --set SOURCE date=... outlet=...`), kept in `<index>/document-meta.json` beside the
generations and laid over what ingestion found, user over sidecar over the file itself.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from ..errors import ConfigError
from ..news.dates import iso_date
from ..news.outlets import outlet_from_url
from ..types import Document, DocumentRow

META_FILE = "document-meta.json"
FIELDS = ("date", "outlet", "url", "title")
LAYERS = ("sidecar", "user")  # later layers win


@dataclass
class DocumentMeta:
    """Per layer, document name (real path, source or file name) -> fields it sets."""

    sidecar: dict[str, dict[str, str]] = field(default_factory=dict)
    user: dict[str, dict[str, str]] = field(default_factory=dict)

    def fields_for(self, source: str, path: str) -> dict[str, tuple[str, str]]:
        """field -> (value, layer) the corrections set for one document."""
        found: dict[str, tuple[str, str]] = {}
        # A sidecar may name a file by its real path, its source name or its bare file name.
        names = [n for n in dict.fromkeys([path, source, PurePosixPath(source).name]) if n]
        for layer in LAYERS:
            entries = getattr(self, layer)
            entry = next((entries[n] for n in names if n in entries), {})
            found.update({k: (v, layer) for k, v in entry.items() if k in FIELDS})
        return found

    def apply(self, doc: Document) -> bool:
        """Lay the corrections over one document in place; whether anything changed."""
        before = (doc.date, doc.date_source, doc.outlet, doc.url, doc.title)
        for name, (value, layer) in self.fields_for(doc.source, doc.path).items():
            if name == "date":
                doc.date, doc.date_source = value, layer
                doc.metadata["date_note"] = "set with rag docs --set" if layer == "user" else "from the --meta file"
            else:
                setattr(doc, name, value)
        if doc.url and not doc.outlet:  # a page saved from the web: its site, as for a page that names its URL
            doc.outlet = outlet_from_url(doc.url)
        return before != (doc.date, doc.date_source, doc.outlet, doc.url, doc.title)

    def pending(self, row: DocumentRow) -> bool:
        """Whether a stored document (a row of a store's `documents()`) differs from what the corrections say."""
        for name, (value, layer) in self.fields_for(row.source, row.path).items():
            if getattr(row, name) != value or (name == "date" and row.date_source != layer):
                return True
        return False


def load_meta(root: Path) -> DocumentMeta:
    """The corrections kept in an index folder (none when the file is absent)."""
    path = Path(root) / META_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return DocumentMeta()
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path} is not readable JSON ({error}): fix or delete it, then re-run") from None
    return DocumentMeta(**{layer: dict(data.get(layer) or {}) for layer in LAYERS})


def save_meta(root: Path, meta: DocumentMeta) -> None:
    """Write the corrections atomically (a reader never sees half a file)."""
    path = Path(root) / META_FILE
    tmp = path.with_name(f".{META_FILE}.tmp")
    tmp.write_text(json.dumps({layer: getattr(meta, layer) for layer in LAYERS}, indent=2, ensure_ascii=False),
                   encoding="utf-8")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def parse_assignments(assignments: list[str]) -> dict[str, str]:
    """{'date': '2024-03-02', 'outlet': 'Reuters'} from ['date=2024-03-02', 'outlet=Reuters']; bad input is one line."""
    fields: dict[str, str] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep or name not in FIELDS or not value.strip():
            raise ConfigError(f"cannot set {item!r}: write FIELD=VALUE with FIELD one of {', '.join(FIELDS)}")
        fields[name] = value.strip()
    if "date" in fields:
        date = iso_date(fields["date"])
        if date is None:
            raise ConfigError(f"{fields['date']!r} is not a date: write date=YYYY-MM-DD")
        fields["date"] = date
    if not fields:
        raise ConfigError("nothing to set: add FIELD=VALUE pairs, e.g. rag docs --set a.txt date=2024-03-02")
    return fields
