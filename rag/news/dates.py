"""Publication dates with provenance: a dateline or "published" line near the top, YAML front matter, or why none.

Page chrome (a "Wednesday, October 8, 2025" widget above the headline: usually the day the page was scraped),
photo captions ("... at the summit on Nov. 9, 2022, in Bishkek.") and dates of events inside the story are
not publication dates; a date is taken only from a short line that reads as a dateline.
HTML metadata dates come from htmldate via trafilatura (readers.py); this module reads text.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any

from ..text import token_count
from ..ingest.clean import FRONT_MATTER, is_boilerplate_line, top_lines

MONTH = (r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
         r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
DATE_PATTERNS = [  # 2025-05-05, May 5th, 2025, 5 of May 2025
    re.compile(r"\b(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})\b"),
    re.compile(rf"\b{MONTH}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})\b", re.I),
    re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH},?\s+(?P<y>\d{{4}})\b", re.I),
]
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DATELINE_PREFIX = re.compile(r"^(?:published|posted|updated|last updated|date|by)\b", re.I)

TOP_LINES = 25  # how far down a dateline may sit (scraped pages put a lot of chrome first)
_WEEKDAY = re.compile(r"\b(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\b\.?,?", re.I)
_TIME = re.compile(r"\b\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*[A-Z]{2,4})?\b|\b(?:at|am|pm|gmt|utc|cet|est|edt)\b",
                   re.I)
# A date right after one of these words is an event in the story ("on Nov. 9, 2022", "since March 2023").
_EVENT_WORDS = {"on", "since", "until", "till", "from", "before", "after", "in", "during", "between", "of", "to"}
_UPDATED = re.compile(r"^(?:last\s+)?updated\b", re.I)
_FRONT_KEYS = {
    "date": ("date", "published", "pubdate", "publication_date", "published_at", "datepublished", "created"),
    "outlet": ("outlet", "publisher", "site", "site_name", "sitename", "publication"),
    "url": ("url", "link", "canonical", "canonical_url", "source_url"),
    "title": ("title", "headline"),
}


@dataclass
class DateFinding:
    """A publication date (or None), where it came from, and a note saying how it was found or why there is none."""

    date: str | None
    source: str = "none"
    note: str = ""


def _match_date(match: re.Match[str], pattern: re.Pattern[str]) -> _dt.date | None:
    """The calendar date a pattern match names, or None when it is no real date (2025-13-40)."""
    month = int(match["m"]) if "m" in pattern.groupindex else MONTHS.index(match["mon"][:3].lower()) + 1
    try:
        return _dt.date(int(match["y"]), month, int(match["d"]))
    except ValueError:
        return None


def first_date(line: str) -> _dt.date | None:
    """First valid calendar date written in `line`, if any."""
    for pattern in DATE_PATTERNS:
        for m in pattern.finditer(line):
            day = _match_date(m, pattern)
            if day:
                return day
    return None


def find_dates(text: str) -> list[tuple[int, int, str]]:
    """Every full calendar date written in `text`: (start, end, ISO date), in order, overlapping matches dropped."""
    found: list[tuple[int, int, str]] = []
    for pattern in DATE_PATTERNS:
        for m in pattern.finditer(text):
            day = _match_date(m, pattern)
            if day and not any(a < m.end() and m.start() < b for a, b, _ in found):
                found.append((m.start(), m.end(), day.isoformat()))
    return sorted(found)


def _headline_index(lines: list[str]) -> int:
    """Index of the first line that reads as a headline (not furniture, not a bare date); len(lines) if none."""
    for i, line in enumerate(lines):
        if is_boilerplate_line(line) or token_count(line) < 2:
            continue
        if token_count(line) <= 8 and find_dates(line):
            continue
        return i
    return len(lines)


def _remainder_words(line: str, start: int, end: int) -> int:
    """Words a line holds besides its date, weekday, time and dateline prefix ("Published", "By")."""
    rest = DATELINE_PREFIX.sub("", line[:start] + " " + line[end:])
    rest = _TIME.sub(" ", _WEEKDAY.sub(" ", rest))
    return len(re.findall(r"[^\W\d_]{2,}", rest))


def _classify(line: str, index: int, headline: int, lines: list[str]) -> tuple[str, str] | None:
    """(kind, ISO date) of the first date in a top line: dateline, updated, chrome or event; None without a date."""
    dates = find_dates(line)
    if not dates:
        return None
    start, end, iso = dates[0]
    prefixed = bool(DATELINE_PREFIX.match(line))
    before = re.findall(r"[^\W\d_]+", line[:start].lower())
    if not prefixed and (token_count(line) > 12 or (before and before[-1] in _EVENT_WORDS)):
        return "event", iso  # a caption or a sentence of the story
    if not prefixed and _remainder_words(line, start, end) > 4:
        return "event", iso
    if index < headline and not prefixed:
        # Above the headline, a weekday widget or a date followed by navigation is the site's "today".
        if _WEEKDAY.search(line) or any(is_boilerplate_line(x) for x in lines[index + 1 : headline]):
            return "chrome", iso
    return ("updated" if _UPDATED.match(line) else "dateline"), iso


def dateline_date(text: str) -> DateFinding:
    """The publication date a dateline or "published" line near the top of `text` states, else why there is none."""
    lines = top_lines(text, TOP_LINES)
    headline = _headline_index(lines)
    chrome: list[str] = []
    updated: tuple[str, str] | None = None
    for i, line in enumerate(lines):
        found = _classify(line, i, headline, lines)
        if found is None or found[0] == "event":
            continue
        kind, iso = found
        if kind == "dateline":
            return DateFinding(iso, "dateline", f"dateline: {line[:80]}")
        if kind == "updated":
            updated = updated or (iso, line)
        else:
            chrome.append(f"'{line[:40]}' above the headline is page chrome (likely when the page was saved)")
    if updated:
        return DateFinding(updated[0], "dateline", f"only an 'updated' line: {updated[1][:80]}")
    return DateFinding(None, "none", _why_none(text, chrome))


def extract_date(text: str) -> str | None:
    """ISO publication date of a dateline near the top of `text`, else None."""
    return dateline_date(text).date


def _why_none(text: str, chrome: list[str]) -> str:
    """One line on why no publication date was found: what was rejected, and which dates the text holds."""
    reasons = ["no dateline or 'published' line near the top", *chrome[:1]]
    dates = [iso for _, _, iso in find_dates(text[:200_000])]
    if chrome:
        dates = dates[1:]  # the chrome date itself
    if dates:
        reasons.append(f"{len(dates)} date(s) in the text are captions or events in the story (first: {dates[0]})")
    else:
        reasons.append("the text states no date")
    return "; ".join(reasons)


def iso_date(value: Any) -> str | None:
    """An ISO date (YYYY-MM-DD) from a date, a datetime, '2024-03-02[T...]' or prose such as '2 March 2024'."""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()[:10]
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    iso = re.match(r"(\d{4})-(\d{2})-(\d{2})(?:$|[T ])", text)
    if iso:
        try:
            return _dt.date(*map(int, iso.groups())).isoformat()
        except ValueError:
            return None
    import dateparser  # slow to import; only prose dates need it

    parsed = dateparser.parse(text, settings={"REQUIRE_PARTS": ["day", "month", "year"]})
    return parsed.date().isoformat() if parsed else None


def front_matter(text: str) -> dict[str, str]:
    """date/outlet/url/title from a YAML front-matter block at the start of a Markdown or text file."""
    import yaml

    block = FRONT_MATTER.match(text[:20_000])
    if not block:
        return {}
    try:
        data = yaml.safe_load(block.group(1))
    except yaml.YAMLError:
        return {}
    if not isinstance(data, dict):
        return {}
    lowered = {str(k).lower(): v for k, v in data.items()}
    found: dict[str, str] = {}
    for field, keys in _FRONT_KEYS.items():
        value = next((lowered[k] for k in keys if lowered.get(k) not in (None, "")), None)
        value = iso_date(value) if field == "date" else (str(value).strip() if value is not None else None)
        if value:
            found[field] = value
    return found
