"""The timeline above an answer's sources: its retrieved passages on a date axis, the cited ones filled and
numbered, the as-of day marked, so a reader sees at a glance whether the answer rests on this week's reporting or
on last year's. Plain HTML (positions in percent), so it reflows on a phone and needs no script.
"""

from __future__ import annotations

import datetime as dt
from ..types import Answer, Passage
from .cards import anchor_id, esc, nice_date, plural

_EDGE = 4.0  # percent of the axis kept free at each end, so the first and last dots are not cut
_GAP = 5.0  # percent: dots closer than this on one row would overlap, so the later one goes up a row
_ROW_EM = 1.8  # height of a row of dots


def timeline_html(answer: Answer, turn: int) -> str:
    """The timeline of one answer ('' when no retrieved passage is dated)."""
    cited = {c.n for c in answer.citations if c.verified}
    dated = [(n, p, _day(p.date)) for n, p in enumerate(answer.passages, start=1) if _day(p.date)]
    if not dated:
        return ""
    as_of = _day(answer.as_of)
    days = [d for _, _, d in dated] + ([as_of] if as_of else [])
    first, last = min(days), max(days)
    placed = [(n, p, day, _place(day, first, last)) for n, p, day in sorted(dated, key=lambda item: item[2])]
    rows = _rows([left for *_, left in placed])
    marks = [_dot(n, p, day, n in cited, left, row, turn) for (n, p, day, left), row in zip(placed, rows)]
    if as_of:
        left = _place(as_of, first, last)
        side = "rag-tl-label-left" if left > 60 else ""  # near the right end the label reads leftwards
        marks.append(f'<div class="rag-tl-asof {side}" style="left:{left:.1f}%" title="as of {esc(nice_date(answer.as_of))}">'
                     f'<span>as of {esc(nice_date(answer.as_of))}</span></div>')
    undated = len(answer.passages) - len(dated)
    note = f'<div class="rag-note">{plural(undated, "retrieved passage")} without a date</div>' if undated else ""
    return (f'<div class="rag-timeline" aria-label="sources on a date axis">'
            f'<div class="rag-tl-axis" style="height:{2.6 + _ROW_EM * max(rows):.1f}em">{"".join(marks)}</div>'
            f'<div class="rag-tl-ends"><span>{esc(nice_date(first.isoformat()))}</span>'
            f'<span>{esc(nice_date(last.isoformat()))}</span></div>'
            f'<div class="rag-note">● cited · ○ retrieved, not cited</div>{note}</div>')


def _dot(n: int, passage: Passage, day: dt.date, cited: bool, left: float, row: int, turn: int) -> str:
    """One passage on the axis (raised `row` rows above it): a numbered link to its card, its date and outlet in
    the tooltip."""
    who = ", ".join(x for x in (passage.outlet, nice_date(passage.date)) if x)
    kind = "cited" if cited else "retrieved"
    return (f'<a class="rag-tl-dot rag-tl-{kind}" href="#{anchor_id(turn, n)}" data-date="{day.isoformat()}" '
            f'style="left:{left:.1f}%; bottom:{row * _ROW_EM - 0.8:.1f}em" title="[{n}] {esc(who)} ({kind})">{n}</a>')


def _rows(lefts: list[float]) -> list[int]:
    """A row per dot (positions in increasing order): the lowest row whose last dot is at least _GAP away."""
    ends: list[float] = []
    rows = []
    for left in lefts:
        row = next((i for i, end in enumerate(ends) if left - end >= _GAP), len(ends))
        if row == len(ends):
            ends.append(left)
        ends[row] = left
        rows.append(row)
    return rows


def _place(day: dt.date, first: dt.date, last: dt.date) -> float:
    """Percent along the axis of a day between the first and last shown."""
    span = (last - first).days
    if span == 0:
        return 50.0
    return _EDGE + (100 - 2 * _EDGE) * (day - first).days / span


def _day(value: str | None) -> dt.date | None:
    """A date from an ISO string (None when missing or unreadable)."""
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None
