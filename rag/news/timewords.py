"""Relative time words ("this week", "yesterday", "last month", "two weeks ago", "recently") as date windows,
resolved against the point in time a question is asked from (its as-of date).

A small pattern finds the phrases; dateparser turns each into a date and its period (day, week, month, year)
relative to as-of, so "last Tuesday" and "three weeks ago" need no rules of their own. The few phrases dateparser
leaves open ("recently", "so far", "the past month") get their window here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from ..language.numbers import digits_of_words

_UNIT = r"(?:day|week|weekend|month|year)s?"
_COUNT = r"(?:\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|several)"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
# What dateparser resolves: relative days, weeks, months and years, and named weekdays.
_PARSED = re.compile(
    rf"\b(?:(?:this|last|previous)\s+(?:week|weekend|month|year|{_WEEKDAY})|yesterday"
    rf"|{_COUNT}\s+{_UNIT}\s+ago|(?:on|last|this\s+past)\s+{_WEEKDAY})\b", re.I)
# What it leaves open: a span up to as-of ("the past two weeks", "recently", "so far").
_SPAN = re.compile(
    rf"\b(?P<span>(?:the\s+)?(?:past|last|previous)\s+(?:(?P<count>{_COUNT})\s+)?(?P<unit>{_UNIT})"
    rf"|recently|lately|in recent (?:days|weeks)|so far|to date|earlier this (?P<this>week|month|year))\b", re.I)
_VAGUE = {"a": 1, "an": 1, "a few": 3, "several": 5}  # counts that are not figures, as numbers of units
_DAYS = {"day": 1, "week": 7, "weekend": 7, "month": 30, "year": 365}
RECENTLY_DAYS = 30  # "recently", "lately": the month up to as-of


@dataclass(frozen=True)
class Window:
    """A run of days a time phrase names, inclusive, as ISO dates; `words` is the phrase as written."""

    words: str
    start: str
    end: str

    def days_outside(self, date: str) -> int:
        """How many days a date lies before or after the window (0 inside it)."""
        day, start, end = (dt.date.fromisoformat(d) for d in (date[:10], self.start, self.end))
        return max((start - day).days, (day - end).days, 0)


def _count(words: str) -> int:
    """How many units a count names: "3", "three" (num2words), "a few"."""
    words = words.lower()
    return _VAGUE.get(words) or int(digits_of_words().get(words, words))


def time_phrases(text: str) -> list[str]:
    """The relative time words of a text as written ("last week", "two days ago", "recently"), in order."""
    found = sorted([*_PARSED.finditer(text), *_SPAN.finditer(text)], key=lambda m: m.start())
    return list(dict.fromkeys(m.group() for m in found))


def time_windows(question: str, as_of: dt.date) -> list[Window]:
    """The windows a question's relative time words name, as seen from `as_of` (none are after it)."""
    windows = []
    for m in _PARSED.finditer(question):
        window = _parsed_window(m.group(), as_of)
        if window:
            windows.append(window)
    for m in _SPAN.finditer(question):
        if not any(w.words.lower() in m.group().lower() or m.group().lower() in w.words.lower() for w in windows):
            windows.append(_span_window(m, as_of))
    return windows


def _parsed_window(words: str, as_of: dt.date) -> Window | None:
    """A dateparser phrase as the day, week (the 7 days to it), month or year it names, capped at as-of."""
    data = _parser(as_of.isoformat()).get_date_data(words)
    if data.date_obj is None:
        return None
    day = min(data.date_obj.date(), as_of)
    period = data.period or "day"
    if "weekend" in words.lower():
        start = day - dt.timedelta(days=(day.weekday() + 2) % 7)  # back to the Saturday
        return _window(words, start, min(start + dt.timedelta(days=1), as_of))
    if period == "week":  # "this week" is the seven days up to as-of; "last week" the seven before those
        return _window(words, day - dt.timedelta(days=6), day)
    if period == "month":
        start = day.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        return _window(words, start, min(end, as_of))
    if period == "year":
        return _window(words, day.replace(month=1, day=1), min(day.replace(month=12, day=31), as_of))
    return _window(words, day, day)


def _span_window(m: re.Match[str], as_of: dt.date) -> Window:
    """"the past two weeks", "recently", "so far", "earlier this month": a span ending at as-of."""
    words = m.group()
    if m["this"]:
        unit = m["this"].lower()
        start = {"week": as_of - dt.timedelta(days=6), "month": as_of.replace(day=1),
                 "year": as_of.replace(month=1, day=1)}[unit]
        return _window(words, start, as_of)
    if m["unit"]:
        unit = m["unit"].lower().rstrip("s")
        count = _count(m["count"] or "one")
        return _window(words, as_of - dt.timedelta(days=count * _DAYS[unit] - 1), as_of)
    if words.lower() in ("so far", "to date"):
        return _window(words, as_of.replace(month=1, day=1), as_of)
    return _window(words, as_of - dt.timedelta(days=RECENTLY_DAYS - 1), as_of)


def _window(words: str, start: dt.date, end: dt.date) -> Window:
    return Window(words, start.isoformat(), end.isoformat())


@lru_cache(maxsize=8)
def _parser(as_of: str):
    """A dateparser parser anchored at as-of (English, past dates preferred), kept for the questions that share it."""
    from dateparser.date import DateDataParser

    base = dt.datetime.fromisoformat(as_of)
    return DateDataParser(languages=["en"], settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past"})
