"""Sidecar metadata files (`rag index --meta FILE`): source or path -> date, outlet, url, title, as CSV or JSONL."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from ..errors import IngestError
from .dates import iso_date

FIELDS = ("date", "outlet", "url", "title")
KEY_FIELDS = ("source", "path", "file")


def read_sidecar(path: Path) -> dict[str, dict[str, str]]:
    """Entries keyed by the file's real path when it exists beside the sidecar, else by the name as written."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"metadata file {path} does not exist: give a .csv or .jsonl file to --meta")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise IngestError(f"metadata file {path} is {suffix or 'untyped'}: "
                          "--meta reads .csv (with a header row) or .jsonl")
    text = path.read_text(encoding="utf-8-sig")
    rows = _csv_rows(text) if suffix == ".csv" else _jsonl_rows(text, path)
    entries: dict[str, dict[str, str]] = {}
    for line, row in rows:
        key, fields = _entry(row, path, line)
        entries[_resolve(key, path.parent)] = fields
    return entries


def _csv_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    """(line number, row) of a CSV file with a header row; column names are case-insensitive."""
    reader = csv.DictReader(text.splitlines())
    return [(reader.line_num, {str(k).strip().lower(): v for k, v in row.items() if k}) for row in reader]


def _jsonl_rows(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) of each non-blank JSONL line."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise IngestError(f"{path} line {number} is not JSON ({error.msg}): write one object per line") from None
        if not isinstance(row, dict):
            raise IngestError(f"{path} line {number} is not a JSON object: write one object per line")
        rows.append((number, {str(k).lower(): v for k, v in row.items()}))
    return rows


def _entry(row: dict[str, Any], path: Path, line: int) -> tuple[str, dict[str, str]]:
    """(document name, fields set) of one row; a missing name or a bad date is one error line."""
    key = next((str(row[k]).strip() for k in KEY_FIELDS if row.get(k) not in (None, "")), "")
    if not key:
        raise IngestError(f"{path} line {line} names no document: give a 'source' (or 'path') column")
    fields = {f: str(row[f]).strip() for f in FIELDS if row.get(f) not in (None, "")}
    if "date" in fields:
        date = iso_date(fields["date"])
        if date is None:
            raise IngestError(f"{path} line {line}: {fields['date']!r} is not a date: write YYYY-MM-DD")
        fields["date"] = date
    return key, fields


def _resolve(key: str, folder: Path) -> str:
    """The real path of `key` (relative to the sidecar's folder, or absolute) when that file exists, else `key`."""
    from ..ingest.readers import text_name

    candidate = Path(key) if os.path.isabs(key) else folder / key
    return text_name(os.path.realpath(candidate)) if candidate.is_file() else key
