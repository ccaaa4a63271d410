"""Retrieval filters: which sources and publication dates a search may return."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ..errors import ConfigError

_PARTIAL_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


@dataclass
class Filters:
    """Restrict retrieval to some documents.

    source: a glob on the source name or file path, e.g. "reports/*.pdf" or "*2023*".
    since / until: inclusive publication-date bounds, YYYY-MM-DD (or YYYY-MM, YYYY); documents
    without a stated date never pass a date bound.
    """

    source: str | None = None
    since: str | None = None
    until: str | None = None
    unflagged: bool = False  # leave out documents holding text flagged as written to steer the assistant
    # The point in time a question is asked from: documents dated after it never pass (undated ones do, unlike
    # `until`: an as-of date hides what was not yet written, not what has no date).
    as_of: str | None = None

    def __post_init__(self) -> None:
        self.since = _date_bound(self.since, "since", "-01-01")
        self.until = _date_bound(self.until, "until", "-12-31")
        self.as_of = _date_bound(self.as_of, "as-of", "-12-31")

    def active(self) -> bool:
        """Whether any restriction is set."""
        return bool(self.source or self.since or self.until or self.unflagged or self.as_of)


def _date_bound(value: str | None, name: str, pad: str) -> str | None:
    """A full ISO date from YYYY[-MM[-DD]]: a partial `since` starts the period, a partial `until` ends it."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not _PARTIAL_DATE.fullmatch(value):
        raise ConfigError(f"--{name} {value!r} is not a date: use YYYY-MM-DD, YYYY-MM or YYYY")
    return value + pad[len(value) - 4:]


def parse_as_of(value: str | None) -> dt.date | None:
    """The day a question is asked from, from YYYY-MM-DD ("today" and "" mean today's date: None)."""
    if value is None or value.strip().lower() in ("", "today"):
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"--as-of {value!r} is not a date: use YYYY-MM-DD (e.g. 2023-01-05)") from None
