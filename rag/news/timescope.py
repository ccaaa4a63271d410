"""Time words in a question and what retrieval does with them.

"now", "latest", "currently" ask for the newest sources: candidates get a recency boost by the rank of their
publication date. "this week", "yesterday", "last month", "recently" name windows relative to the question's as-of
date (rag/search/timewords.py): candidates published in the window get a boost that fades with the days outside
it, so older background still ranks when it is what answers. "in 2022", "during March 2023", "before 2021", "since
2020" name periods: they become publication-date filters. "before the war" names an event, not a date: it is
recorded, and nothing is filtered.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..types import Passage
from ..search.filters import Filters
from .timewords import Window, time_windows

RECENCY_WEIGHT = 0.15  # boost of the newest dated candidate (fused scores run 0..1); older ones get less, undated none
WINDOW_WEIGHT = 0.15  # boost of a candidate published inside a named window; it halves every HALF_LIFE days outside
HALF_LIFE_DAYS = 7  # (or the window's own length when longer: "this year" fades by the year, "this week" by the week)
# A question with no time words still prefers fresh news a little: +FRESH_WEIGHT for a source published on the as-of
# day, halving every FRESH_HALF_LIFE_DAYS before it. An archive far from as-of gets ~0 for every source, so its order
# is unchanged; in a live news index, this week's report outranks last year's on the same topic. (Chosen on the
# January-February RealTime QA weeks: answer recall@5 of the ceiling 0.780 -> 0.818; weights 0.05-0.15 and half-lives
# 7-30 days all gave 0.80-0.82.)
FRESH_WEIGHT = 0.1
FRESH_HALF_LIFE_DAYS = 14
_MONTH_NAMES = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTH = r"(?P<month>" + "|".join(_MONTH_NAMES) + r")"
_RECENT = re.compile(
    r"\b(?:now|nowadays|currently|current|latest|newest|most recent|today|these days|at present"
    r"|presently|still|any ?more|up to date)\b", re.I)
_PERIOD = re.compile(rf"\b(?P<word>in|during|throughout|before|until|till|prior to|after|since|from)\s+"
                     rf"(?:{_MONTH}\s+)?(?P<year>(?:19|20)\d\d)\b(?!\s*-)", re.I)
_EVENT = re.compile(r"\b(?P<word>before|after|since|until|prior to)\s+(?P<what>the\s+[a-z]+(?:\s+[a-z]+)?)", re.I)


@dataclass
class TimeScope:
    """What the question says about time and what retrieval did: boosted recent sources, filtered dates, or not."""

    words: list[str] = field(default_factory=list)  # the time expressions found, as written
    recent: bool = False  # the question asks for the newest information
    since: str | None = None  # publication-date bounds the question names
    until: str | None = None
    as_of: str | None = None  # the day the question is asked from: relative words are read against it
    windows: list[dict[str, str]] = field(default_factory=list)  # the runs of days relative words name
    actions: list[str] = field(default_factory=list)  # what was done, for the answer's metadata

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (Answer.time_scope)."""
        return asdict(self)

    def narrow(self, filters: Filters | None) -> Filters:
        """The user's filters with the question's period laid over them (the tighter bound wins)."""
        base = filters or Filters()
        since = max(filter(None, [base.since, self.since]), default=None)
        until = min(filter(None, [base.until, self.until]), default=None)
        return replace(base, since=since, until=until)

    def window_list(self) -> list[Window]:
        """The named windows as Window objects."""
        return [Window(**w) for w in self.windows]


def read_time_scope(question: str, as_of: dt.date | None = None) -> TimeScope | None:
    """The time words of a question (None when it has none); relative ones are read as seen from `as_of`
    (default: today)."""
    day = as_of or dt.date.today()
    scope = TimeScope(as_of=day.isoformat())
    for window in time_windows(question, day):
        scope.words.append(window.words)
        scope.windows.append(asdict(window))
    for m in _RECENT.finditer(question):
        scope.words.append(m.group())
        scope.recent = True
    for m in _PERIOD.finditer(question):
        scope.words.append(m.group())
        _bound(scope, m["word"].lower(), m["month"], int(m["year"]))
    for m in _EVENT.finditer(question):
        scope.words.append(m.group())
        scope.actions.append(f"'{m.group()}' names an event, not a date: no date filter")
    return scope if scope.words else None


def _bound(scope: TimeScope, word: str, month: str | None, year: int) -> None:
    """Set since/until for "in 2022", "before March 2023", "since 2020"."""
    number = _MONTH_NAMES[month.lower()] if month else None
    first = f"{year}-{number or 1:02d}-01"
    last = f"{year}-{number or 12:02d}-{calendar.monthrange(year, number or 12)[1]:02d}"
    if word in ("in", "during", "throughout"):
        scope.since, scope.until = first, last
    elif word in ("before", "prior to"):
        scope.until = _day_before(first)
    elif word in ("until", "till"):
        scope.until = last
    elif word == "after":
        scope.since = _day_after(last)
    else:  # since, from
        scope.since = first


def _day_before(iso: str) -> str:
    """The ISO date one day earlier."""
    import datetime as dt

    return (dt.date.fromisoformat(iso) - dt.timedelta(days=1)).isoformat()


def _day_after(iso: str) -> str:
    """The ISO date one day later."""
    import datetime as dt

    return (dt.date.fromisoformat(iso) + dt.timedelta(days=1)).isoformat()


def boost_recent(passages: list[Passage], weight: float = RECENCY_WEIGHT) -> list[Passage]:
    """Passages re-ranked with a boost by the rank of their publication date: newest +weight, oldest +0, undated 0."""
    dates = sorted({p.date for p in passages if p.date}, reverse=True)
    if not dates:
        return passages
    for p in passages:
        # Rank, not age: a figure updated two days later must win as clearly as one updated a year later.
        boost = weight * (1 - dates.index(p.date) / (len(dates) - 1)) if p.date and len(dates) > 1 else (
            weight if p.date else 0.0)
        p.scores["recency"] = round(boost, 4)
        p.score += boost
    return sorted(passages, key=lambda p: -p.score)


def boost_windows(passages: list[Passage], windows: list[Window], weight: float = WINDOW_WEIGHT) -> list[Passage]:
    """Passages re-ranked with a boost for publication inside a named window, fading with the days outside it."""
    for p in passages:
        if not p.date:
            continue
        boost = max(weight * 0.5 ** (w.days_outside(p.date) / max(HALF_LIFE_DAYS, _length(w))) for w in windows)
        p.scores["window"] = round(boost, 4)
        p.score += boost
    return sorted(passages, key=lambda p: -p.score)


def _length(window: Window) -> int:
    """Days in a window."""
    return (dt.date.fromisoformat(window.end) - dt.date.fromisoformat(window.start)).days + 1


def boost_fresh(passages: list[Passage], as_of: dt.date, weight: float = FRESH_WEIGHT,
                half_life: float = FRESH_HALF_LIFE_DAYS) -> list[Passage]:
    """Passages re-ranked with a small boost that halves every `half_life` days before as-of (undated: none)."""
    for p in passages:
        if not p.date:
            continue
        age = max((as_of - dt.date.fromisoformat(p.date[:10])).days, 0)
        boost = weight * 0.5 ** (age / half_life)
        p.scores["fresh"] = round(boost, 6)
        p.score += boost
    return sorted(passages, key=lambda p: -p.score)
