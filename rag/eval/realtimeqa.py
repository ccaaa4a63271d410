"""The RealTime QA news set (../shared/eval/realtimeqa2023): dated articles as Documents, weekly quiz questions as
GoldItems asked as of their question date.

Every question shares one pool of articles (2,388, from 2022 and 2023), so last year's story on the same topic
stands beside this week's. A question whose own search results hold the right choice word for word is
answerable (the ceiling of a system that answers only from documents); the others should be declined.
Splits: "dev" = the January and February weeks, for tuning; "report" = the March weeks, for figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..news.outlets import outlet_from_url
from ..types import Document
from .gold import GoldItem
from .sets import DatasetError, require_data, text_document
from .quiz import holds

SPLITS = {"dev": ("202301", "202302"), "report": ("202303",)}


def _folder(shared_dir: Path) -> Path:
    return require_data(Path(shared_dir) / "eval" / "realtimeqa2023")


def _records(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def iso_day(value: str | None) -> str | None:
    """"2023/01/05" -> "2023-01-05" (None stays None)."""
    return value.replace("/", "-") if value else None


def article_document(article: dict[str, Any]) -> Document:
    """One article: headline, blank line, text (the headline is part of the article, as in a saved page), with its
    date, url, outlet (site) and authors; flagged like any ingested file."""
    from ..guard.flags import flag_document

    title = " ".join((article.get("title") or "").split())
    text = f"{title}\n\n{article['text'].strip()}" if title else article["text"].strip()
    doc = text_document(article["id"], text, title, authors=list(article.get("authors") or []))
    doc.date = iso_day(article.get("publish_date"))
    doc.date_source = "dataset" if doc.date else "none"
    doc.outlet, doc.url = outlet_from_url(article.get("url")), article.get("url")
    if flags := flag_document(doc):
        doc.metadata["flags"] = flags
    return doc


def realtimeqa_documents(shared_dir: Path) -> Iterator[Document]:
    """Every article of the set, once."""
    for article in _records(_folder(shared_dir) / "articles.jsonl"):
        yield article_document(article)


def realtimeqa_gold(shared_dir: Path, split: str = "all") -> list[GoldItem]:
    """The quiz questions of a split (dev, report or all), each asked as of its question date."""
    if split != "all" and split not in SPLITS:
        raise DatasetError(f"unknown realtimeqa split {split!r}: choose all, dev (January-February) or report (March)")
    folder = _folder(shared_dir)
    texts = {a["id"]: f"{a.get('title') or ''}\n{a['text']}" for a in _records(folder / "articles.jsonl")}
    items = []
    for record in _records(folder / "questions.jsonl"):
        if split != "all" and not record["id"].startswith(SPLITS[split]):
            continue
        right = record["answer"][0]
        in_articles = any(holds(texts.get(a, ""), right) for a in record["search_results"])
        items.append(GoldItem(id=f"rtqa-{record['id']}", question=record["question"].strip(), answers=[right],
                              answerable=in_articles, kind="in-articles" if in_articles else "not-in-articles",
                              as_of=iso_day(record["question_date"]), choices=list(record["choices"])))
    return items
