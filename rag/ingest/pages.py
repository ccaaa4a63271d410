"""Pages and feeds kept in the index's own folder, `<index>/web/`: each fetched page is saved as the HTML that was
read, so its quotes stay checkable by offsets; `pages.json` remembers each URL's file, ETag and Last-Modified (a
re-run asks the server "changed since?" and leaves unchanged pages alone) and each feed's article links; and
`pages.jsonl` names each saved file's URL, read by the indexer like a `--meta` file (the page's own title, date
and site name come from its HTML, as for files).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..config import WebSettings
from ..errors import IngestError
from .web import FEED_TYPES, HTML_TYPES, Response, fetch

WEB_DIR = "web"
STATE = "pages.json"
SIDECAR = "pages.jsonl"


@dataclass
class WebReport:
    """What fetching did: pages downloaded (new or changed), pages the server said were unchanged, failures (URL,
    one line), and the saved files to index with the sidecar naming their URLs."""

    fetched: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    sidecar: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for `rag index --json`."""
        return {"fetched": self.fetched, "unchanged": self.unchanged,
                "failed": [{"url": url, "reason": reason} for url, reason in self.failed]}


def gather(urls: list[str], feeds: list[str], folder: Path, web: WebSettings) -> WebReport:
    """Fetch the pages `urls` names and the articles of each feed into `folder` (created when missing); a page or
    feed that fails is reported and the rest go on."""
    folder.mkdir(parents=True, exist_ok=True)
    state = _load(folder / STATE)
    report = WebReport()
    pages = list(dict.fromkeys(urls))
    for feed in dict.fromkeys(feeds):
        try:
            pages += [link for link in _feed_links(feed, state, web) if link not in pages]
        except IngestError as error:
            report.failed.append((feed, str(error)))
    for url in pages:
        try:
            _page(url, folder, state, web, report)
        except IngestError as error:
            report.failed.append((url, str(error)))
    _save(folder / STATE, state)
    report.sidecar = _write_sidecar(folder, state, report.files)
    return report


def _page(url: str, folder: Path, state: dict[str, Any], web: WebSettings, report: WebReport) -> None:
    """Fetch one page (conditionally when it was fetched before) and save it when it changed."""
    known = state["pages"].get(url, {})
    path = folder / known["file"] if known.get("file") else None
    have = path is not None and path.is_file()
    response = fetch(url, web, HTML_TYPES, known.get("etag") if have else None,
                     known.get("last_modified") if have else None)
    if response.status == 304 and have:
        report.unchanged.append(url)
    else:
        path = folder / file_name(url)
        if have and path.is_file() and path.read_bytes() == response.body:
            report.unchanged.append(url)  # served again in full, but the same bytes
        else:
            _write_atomic(path, response.body)
            report.fetched.append(url)
    state["pages"][url] = _entry(path.name, response, known)
    report.files.append(path)


def _feed_links(feed: str, state: dict[str, Any], web: WebSettings) -> list[str]:
    """The article links of an RSS or Atom feed (the ones remembered when the server says it has not changed)."""
    import feedparser

    known = state["feeds"].get(feed, {})
    response = fetch(feed, web, FEED_TYPES + HTML_TYPES, known.get("etag"), known.get("last_modified"))
    if response.status == 304 and known.get("links"):
        return list(known["links"])
    parsed = feedparser.parse(response.body)
    links = [entry.get("link") for entry in parsed.entries if entry.get("link", "").startswith(("http://", "https://"))]
    if not links:
        raise IngestError(f"{feed}: not an RSS or Atom feed with article links: give the feed's address")
    state["feeds"][feed] = {**_entry("", response, known), "links": links}
    return links


def file_name(url: str) -> str:
    """A stable, safe file name for a page: its site and a hash of its URL."""
    host = re.sub(r"[^\w.-]+", "_", urlsplit(url).hostname or "page")[:60]
    return f"{host}-{hashlib.sha256(url.encode()).hexdigest()[:16]}.html"


def _entry(name: str, response: Response, known: dict[str, Any]) -> dict[str, Any]:
    """What to remember of a URL: its file and the validators a later request sends (kept over a 304)."""
    return {"file": name, "final_url": response.url or known.get("final_url"),
            "etag": response.etag or known.get("etag"), "last_modified": response.last_modified or known.get("last_modified")}


def _write_sidecar(folder: Path, state: dict[str, Any], files: list[Path]) -> Path | None:
    """pages.jsonl: the URL of each saved page this run indexes (by its real path), for the indexer's metadata."""
    saved = {path.name: path for path in files}
    lines = [json.dumps({"path": str(saved[entry["file"]].resolve()), "url": entry.get("final_url") or url})
             for url, entry in state["pages"].items() if entry.get("file") in saved]
    if not lines:
        return None
    sidecar = folder / SIDECAR
    _write_atomic(sidecar, ("\n".join(lines) + "\n").encode("utf-8"))
    return sidecar


def _load(path: Path) -> dict[str, Any]:
    """The remembered pages and feeds ({} when new; a damaged file is one line saying what to do)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = {}
    except (OSError, ValueError) as error:
        raise IngestError(f"{path} is not readable JSON ({error}): delete it and re-run to fetch every page again") \
            from None
    return {"pages": dict(data.get("pages") or {}), "feeds": dict(data.get("feeds") or {})}


def _save(path: Path, state: dict[str, Any]) -> None:
    """Write the state atomically."""
    _write_atomic(path, json.dumps(state, indent=1, ensure_ascii=False).encode("utf-8"))


def _write_atomic(path: Path, data: bytes) -> None:
    """Write a file so a reader sees the old or the new bytes, never half."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
