"""Read .txt/.md/.html/.pdf/.docx files into cleaned Documents (or Skipped, with a reason)."""

from __future__ import annotations

import hashlib
import html as html_lib
import io
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..guard.flags import flag_document
from ..guard.hidden import HiddenText, hidden_html_texts
from ..text import token_count
from ..types import Document, Skipped
from .clean import clean_text, is_boilerplate_line, top_lines
from ..news.dates import dateline_date, first_date, front_matter
from .degenerate import degenerate_reason
from .files import MB, Unreadable, check_exist, discover, read_capped
from ..news.outlets import outlet_from_title, outlet_from_url, wire_credit

_BINARY_PROBE_BYTES = 8192


@dataclass
class _Extracted:
    """Text pulled out of one file, plus what the format itself says about it."""

    text: str
    title: str | None = None
    date: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    date_source: str = "none"  # where the format's own date came from (html-meta, front-matter)
    outlet: str | None = None
    url: str | None = None
    hidden: list[HiddenText] = field(default_factory=list)  # text readers never see (steering is looked for in it)


# ---------------------------------------------------------------- decoding


def _decode(data: bytes, declared: str | None = None) -> tuple[str, dict[str, Any]]:
    """Decode text bytes: BOMs, UTF-8, a declared charset, then cp1252 or latin-1 (noted)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), {"encoding": "utf-16"}
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: judge it like any other bytes
    if b"\x00" in data[:_BINARY_PROBE_BYTES]:
        raise Unreadable("binary file")
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


def _read_plain(data: bytes, limit: int) -> _Extracted:
    """.txt and .md: the decoded text as is (Markdown is read as plain text); YAML front matter gives metadata."""
    text, meta = _decode(data)
    found = front_matter(text)
    return _Extracted(text, title=found.get("title"), date=found.get("date"), metadata=meta,
                      date_source="front-matter" if found.get("date") else "none", outlet=found.get("outlet"),
                      url=found.get("url"))


def _html_title(markup: str) -> str | None:
    """Text of the page's first <title>, unescaped and on one line."""
    # A bounded look: an unclosed <title> repeated 100,000 times must not make this quadratic.
    opening = re.search(r"<title\b[^<>]{0,200}>", markup[:200_000], re.I)
    if not opening:
        return None
    window = markup[opening.end() : opening.end() + 2_000]
    end = window.lower().find("</title>")
    title = " ".join(html_lib.unescape(window[:end]).split()) if end >= 0 else ""
    return title or None


def _html_text_fallback(markup: str) -> str:
    """Visible text via BeautifulSoup, without scripts, styles and page chrome."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form"]):
        tag.decompose()
    return soup.get_text("\n")


_TAG = re.compile(r"<[^<>]*>")


def _check_markup_has_text(markup: str) -> None:
    """Refuse a big page that is all tags (100,000 nested divs): parsers spend seconds per MB on it for nothing."""
    if len(markup) < 100_000:
        return
    outside_tags = len("".join(_TAG.sub(" ", markup).split()))
    if outside_tags < 0.02 * len(markup):
        raise Unreadable(f"degenerate text: markup without text ({outside_tags:,} characters outside tags in "
                         f"{len(markup) / MB:.1f} MB)")


def _read_html(data: bytes, limit: int) -> _Extracted:
    """.html/.htm: main text via trafilatura (BeautifulSoup fallback), title from <title>."""
    import trafilatura
    from trafilatura.metadata import extract_metadata

    charset = re.search(rb"""<meta[^>]+charset=["']?([\w-]+)""", data[:4096], re.I)
    markup, meta = _decode(data, charset.group(1).decode("ascii") if charset else None)
    _check_markup_has_text(markup)
    try:
        text = trafilatura.extract(markup, include_comments=False, favor_recall=True) or ""
        # Metadata only (extensive=False): htmldate reads meta tags, JSON-LD, <time> and the URL, not the prose.
        page = extract_metadata(markup, extensive=False)
    except Exception:  # trafilatura/lxml choke on some markup; the fallback copes
        text, page = "", None
    if not text.strip():
        text = _html_text_fallback(markup)
        meta["extractor"] = "beautifulsoup"
    # One block per line: make each a paragraph for the chunker.
    text = "\n\n".join(line.strip() for line in text.splitlines() if line.strip())
    date = getattr(page, "date", None)
    url = getattr(page, "url", None)
    return _Extracted(text, title=_html_title(markup), date=date, metadata=meta, url=url,
                      date_source="html-meta" if date else "none",
                      outlet=getattr(page, "sitename", None) or outlet_from_url(url), hidden=hidden_html_texts(markup))


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


def _read_pdf(data: bytes, limit: int) -> _Extracted:
    """.pdf via pypdf: pages joined by blank lines; metadata['pages'] = [[offset, page_no], ...]."""
    from pypdf import PdfReader

    if data and b"%PDF-" not in data[:1024]:
        raise Unreadable("malformed PDF: not a PDF file (no %PDF header)")
    with _quiet_logger("pypdf"):
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise Unreadable("encrypted PDF (password needed)")
            page_texts = [page.extract_text() or "" for page in reader.pages]
            title = _pdf_title(reader)
            info = reader.metadata or {}
            hidden = [HiddenText(f"PDF {key[1:].lower()}", str(info[key])) for key in ("/Subject", "/Keywords")
                      if info.get(key)]
        except Unreadable:
            raise
        except Exception as error:  # pypdf raises many types on damaged files
            raise Unreadable(_short_reason("PDF", error)) from None
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
    return _Extracted("\n\n".join(parts), title=title, metadata={"pages": pages, "page_count": len(page_texts)},
                      hidden=hidden)


def _docx_blocks(document: Any) -> Iterator[str]:
    """Paragraph texts and table rows (cells joined by ' | ') in document order."""
    from docx.table import Table

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows]
            yield "\n".join(row for row in rows if row.strip(" |"))
        else:
            yield block.text


def _check_unpacked_size(data: bytes, limit: int) -> None:
    """Refuse a zip (docx) whose members unpack to more than `limit` bytes, before unpacking any."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            # zipfile never inflates a member beyond its declared size, so the directory is a real bound.
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise Unreadable(_short_reason("DOCX", error)) from None
    if unpacked > limit:
        raise Unreadable(f"DOCX unpacks to {unpacked // MB} MB, over the {limit // MB} MB limit (max_file_mb)")


def _read_docx(data: bytes, limit: int) -> _Extracted:
    """.docx via python-docx: paragraphs and tables joined by blank lines."""
    import docx

    _check_unpacked_size(data, limit)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = [block.strip() for block in _docx_blocks(document)]
        title = document.core_properties.title or None
        hidden = _docx_hidden(document)
    except Exception as error:  # zipfile/lxml/KeyError on damaged files
        raise Unreadable(_short_reason("DOCX", error)) from None
    return _Extracted("\n\n".join(b for b in blocks if b), title=title, hidden=hidden)


def _docx_hidden(document: Any) -> list[HiddenText]:
    """Runs formatted as hidden text (in the extracted text, unseen in Word) and the comment-like properties."""
    runs = " ".join(run.text for p in document.paragraphs for run in p.runs if run.font.hidden and run.text.strip())
    properties = document.core_properties
    found = [HiddenText(f"DOCX {name}", value) for name in ("comments", "subject", "keywords")
             if (value := getattr(properties, name, None))]
    return found + ([HiddenText("hidden Word text", runs)] if runs else [])


_READERS: dict[str, Callable[[bytes, int], _Extracted]] = {
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


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Readable files named in `paths` and found (recursively, sorted, no hidden ones) in its folders."""
    for candidate in discover(paths):
        if candidate.skip is None:
            yield candidate.path


def text_name(name: str) -> str:
    """A path or name as storable text: bytes that are not UTF-8 (surrogates) become \\xNN escapes."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def source_name(path: Path, root: Path | None) -> str:
    """Path relative to `root` as a posix string, else the file name."""
    if root is not None:
        try:
            return text_name(path.relative_to(root).as_posix())
        except ValueError:
            pass
    return text_name(path.name)


def load_document(path: Path, root: Path | None = None, max_file_mb: int = 100,
                  data: bytes | None = None) -> Document | Skipped:
    """Read, extract and clean one file (or its `data`, already read); Skipped with a one-line reason."""
    path = Path(path)
    source = source_name(path, root)
    suffix = path.suffix.lower()
    if reason := unsupported_reason(path):
        return Skipped(source, reason)
    try:
        data = read_capped(path, max_file_mb) if data is None else data
        extracted = _READERS[suffix](data, max_file_mb * MB)
    except Unreadable as error:
        return Skipped(source, str(error))
    text, offset_map = clean_text(extracted.text)
    if not text.strip():
        return Skipped(source, "no text")
    if reason := degenerate_reason(text):
        return Skipped(source, f"degenerate text: {reason}")
    title = extracted.title or guess_title(text, fallback=path.stem)
    doc = Document(
        source=source,
        original=extracted.text,
        text=text,
        offset_map=offset_map,
        title=title,
        content_hash=hashlib.sha256(data).hexdigest(),
        metadata={"type": suffix.lstrip("."), "bytes": len(data), **extracted.metadata},
        outlet=extracted.outlet or outlet_from_title(title),
        url=extracted.url,
    )
    _date_with_provenance(doc, extracted)
    if wire := wire_credit(extracted.text):
        doc.metadata["wire"] = wire
    if flags := flag_document(doc, extracted.hidden):
        doc.metadata["flags"] = flags
    return doc


_DATE_NOTES = {"html-meta": "from the page's metadata (htmldate)", "front-matter": "from the front matter"}


def _date_with_provenance(doc: Document, extracted: _Extracted) -> None:
    """The format's own date (HTML metadata, front matter), else a dateline in the text, else none and why."""
    if extracted.date:
        doc.date, doc.date_source = extracted.date, extracted.date_source
        doc.metadata["date_note"] = _DATE_NOTES.get(extracted.date_source, extracted.date_source)
        return
    found = dateline_date(extracted.text)
    doc.date, doc.date_source, doc.metadata["date_note"] = found.date, found.source, found.note


def load_documents(paths: list[Path], max_file_mb: int = 100) -> Iterator[Document | Skipped]:
    """Documents (or Skipped) for every file in `paths`; raises IngestError for a missing path."""
    check_exist([Path(p) for p in paths])  # eagerly, so the error comes before any work
    return (Skipped(source_name(c.path, c.root), c.skip) if c.skip else load_document(c.path, c.root, max_file_mb)
            for c in discover(paths))


def guess_title(text: str, fallback: str, max_lines: int = 10) -> str:
    """First substantial non-boilerplate line near the top of `text`, else `fallback`."""
    for line in top_lines(text, max_lines):
        if is_boilerplate_line(line) or token_count(line) < 2:
            continue
        if token_count(line) <= 6 and first_date(line):
            continue  # a dateline, not a title
        return line if token_count(line) <= 25 else fallback
    return fallback
