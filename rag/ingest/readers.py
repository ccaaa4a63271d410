"""Read .txt/.md/.html/.pdf/.docx files into cleaned Documents (or Skipped, with a reason)."""

from __future__ import annotations

import hashlib
import html as html_lib
import io
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IngestError
from ..types import Document, Skipped
from .clean import clean_text, extract_date, guess_title

_BINARY_PROBE_BYTES = 8192


class _Unreadable(Exception):
    """A file that cannot be turned into text; the message is the one-line reason."""


@dataclass
class _Extracted:
    """Text pulled out of one file, plus what the format itself says about it."""

    text: str
    title: str | None = None
    date: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- decoding


def _decode(data: bytes, declared: str | None = None) -> tuple[str, dict[str, Any]]:
    """Decode text bytes: BOMs, UTF-8, a declared charset, then cp1252 or latin-1 (noted)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), {"encoding": "utf-16"}
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: judge it like any other bytes
    if b"\x00" in data[:_BINARY_PROBE_BYTES]:
        raise _Unreadable("binary file")
    # Valid UTF-8 is almost never another encoding, so it wins over a (often wrong) declaration.
    for encoding in filter(None, ["utf-8-sig", declared]):
        try:
            return data.decode(encoding), {"encoding": "utf-8" if encoding == "utf-8-sig" else encoding}
        except (UnicodeDecodeError, LookupError):
            continue
    # cp1252 fails on 5 unassigned bytes; latin-1 decodes anything.
    for encoding in ("cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text, {"encoding": encoding, "notes": [f"not valid UTF-8; decoded as {encoding}"]}
    raise AssertionError("latin-1 decodes any bytes")


# ---------------------------------------------------------------- readers


def _read_plain(data: bytes) -> _Extracted:
    """.txt and .md: the decoded text as is (Markdown is read as plain text)."""
    text, meta = _decode(data)
    return _Extracted(text, metadata=meta)


def _html_title(markup: str) -> str | None:
    """Text of the page's <title>, unescaped and on one line."""
    match = re.search(r"<title[^>]*>(.*?)</title>", markup, re.I | re.S)
    title = " ".join(html_lib.unescape(match.group(1)).split()) if match else ""
    return title or None


def _html_text_fallback(markup: str) -> str:
    """Visible text via BeautifulSoup, without scripts, styles and page chrome."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form"]):
        tag.decompose()
    return soup.get_text("\n")


def _read_html(data: bytes) -> _Extracted:
    """.html/.htm: main text via trafilatura (BeautifulSoup fallback), title from <title>."""
    import trafilatura
    from trafilatura.metadata import extract_metadata

    charset = re.search(rb"""<meta[^>]+charset=["']?([\w-]+)""", data[:4096], re.I)
    markup, meta = _decode(data, charset.group(1).decode("ascii") if charset else None)
    try:
        text = trafilatura.extract(markup, include_comments=False, favor_recall=True) or ""
        date = extract_metadata(markup, extensive=False).date
    except Exception:  # trafilatura/lxml choke on some markup; the fallback copes
        text, date = "", None
    if not text.strip():
        text = _html_text_fallback(markup)
        meta["extractor"] = "beautifulsoup"
    # One block per line: make each a paragraph for the chunker.
    text = "\n\n".join(line.strip() for line in text.splitlines() if line.strip())
    return _Extracted(text, title=_html_title(markup), date=date, metadata=meta)


@contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """Silence a library's warnings (pypdf logs every repair of a damaged file)."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _short_reason(kind: str, error: Exception) -> str:
    """One-line reason for a library failure."""
    detail = str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__
    return f"malformed {kind}: {detail}"


def _pdf_title(reader: Any) -> str | None:
    """The PDF's title metadata unless it is a tool's placeholder ('Microsoft Word - x.docx')."""
    title = str(reader.metadata.title or "").strip() if reader.metadata else ""
    placeholder = re.search(r"^(untitled|microsoft \w+ - )|\.\w{2,4}$", title, re.I)
    return title if title and not placeholder else None


def _read_pdf(data: bytes) -> _Extracted:
    """.pdf via pypdf: pages joined by blank lines; metadata['pages'] = [[offset, page_no], ...]."""
    from pypdf import PdfReader

    if data and b"%PDF-" not in data[:1024]:
        raise _Unreadable("malformed PDF: not a PDF file (no %PDF header)")
    with _quiet_logger("pypdf"):
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise _Unreadable("encrypted PDF (password needed)")
            page_texts = [page.extract_text() or "" for page in reader.pages]
            title = _pdf_title(reader)
        except _Unreadable:
            raise
        except Exception as error:  # pypdf raises many types on damaged files
            raise _Unreadable(_short_reason("PDF", error)) from None
    parts: list[str] = []
    pages: list[list[int]] = []
    offset = 0
    for number, page_text in enumerate(page_texts, start=1):
        if not page_text.strip():
            continue  # scanned or empty page: nothing to index
        if parts:
            offset += 2  # the "\n\n" joining pages
        pages.append([offset, number])
        parts.append(page_text)
        offset += len(page_text)
    return _Extracted("\n\n".join(parts), title=title, metadata={"pages": pages, "page_count": len(page_texts)})


def _docx_blocks(document: Any) -> Iterator[str]:
    """Paragraph texts and table rows (cells joined by ' | ') in document order."""
    from docx.table import Table

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows]
            yield "\n".join(row for row in rows if row.strip(" |"))
        else:
            yield block.text


def _read_docx(data: bytes) -> _Extracted:
    """.docx via python-docx: paragraphs and tables joined by blank lines."""
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = [block.strip() for block in _docx_blocks(document)]
        title = document.core_properties.title or None
    except Exception as error:  # zipfile/lxml/KeyError on damaged files
        raise _Unreadable(_short_reason("DOCX", error)) from None
    return _Extracted("\n\n".join(b for b in blocks if b), title=title)


_READERS: dict[str, Callable[[bytes], _Extracted]] = {
    ".txt": _read_plain,
    ".md": _read_plain,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}
# The one list of file types rag reads; the CLI, the indexer and the UI all check against it.
SUPPORTED_SUFFIXES = frozenset(_READERS)
SUPPORTED_NAMES = "txt, md, html, pdf or docx"


def unsupported_reason(path: Path) -> str | None:
    """Why a file's type cannot be indexed, or None when rag reads it."""
    suffix = path.suffix.lower()
    return None if suffix in _READERS else f"unsupported type {suffix or '(no extension)'}"


# ---------------------------------------------------------------- files and documents


def _walk(folder: Path) -> list[Path]:
    """Non-hidden files under `folder`, recursively, sorted by relative path."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # prune .git etc.
        found.extend(Path(dirpath, name) for name in filenames if not name.startswith("."))
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _check_exist(paths: list[Path]) -> None:
    """Raise IngestError for the first path that does not exist."""
    for path in paths:
        if not Path(path).exists():
            raise IngestError(f"{path}: no such file or folder; check the path and try again.")


def _files_with_roots(paths: list[Path]) -> Iterator[tuple[Path, Path | None]]:
    """(file, root) pairs: root is the folder a file was found in, None for a named file."""
    _check_exist(paths)
    seen: set[Path] = set()
    for path in map(Path, paths):
        pairs = [(f, path) for f in _walk(path)] if path.is_dir() else [(path, None)]
        for file, root in pairs:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                yield file, root


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Files named in `paths` and found (recursively, sorted, no hidden ones) in its folders."""
    for file, _root in _files_with_roots(paths):
        yield file


def _source_name(path: Path, root: Path | None) -> str:
    """Path relative to `root` as a posix string, else the file name."""
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.name


def _read_bytes(path: Path, max_file_mb: int) -> bytes:
    """File bytes, refusing files above the size limit."""
    try:
        size = path.stat().st_size
        if size > max_file_mb * 1024 * 1024:
            raise _Unreadable(f"larger than {max_file_mb} MB ({size / 1024 / 1024:.1f} MB)")
        return path.read_bytes()
    except OSError as error:
        raise _Unreadable(f"cannot read file: {error.strerror or error}") from None


def load_document(path: Path, root: Path | None = None, max_file_mb: int = 100,
                  data: bytes | None = None) -> Document | Skipped:
    """Read, extract and clean one file (or its `data`, already read); Skipped with a one-line reason."""
    path = Path(path)
    source = _source_name(path, root)
    suffix = path.suffix.lower()
    if reason := unsupported_reason(path):
        return Skipped(source, reason)
    try:
        data = _read_bytes(path, max_file_mb) if data is None else data
        extracted = _READERS[suffix](data)
    except _Unreadable as error:
        return Skipped(source, str(error))
    text, offset_map = clean_text(extracted.text)
    if not text.strip():
        return Skipped(source, "no text")
    return Document(
        source=source,
        original=extracted.text,
        text=text,
        offset_map=offset_map,
        title=extracted.title or guess_title(text, fallback=path.stem),
        content_hash=hashlib.sha256(data).hexdigest(),
        date=extracted.date or extract_date(text),
        metadata={"type": suffix.lstrip("."), **extracted.metadata},
    )


def load_documents(paths: list[Path], max_file_mb: int = 100) -> Iterator[Document | Skipped]:
    """Documents (or Skipped) for every file in `paths`; raises IngestError for a missing path."""
    _check_exist(paths)  # eagerly, so the error comes before any work
    return (load_document(file, root, max_file_mb) for file, root in _files_with_roots(paths))
