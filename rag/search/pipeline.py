"""One retrieval path: what a question retrieves, decided once for every face (`rag search`, `rag ask`, chat,
the web UI, the API's /v1/search and chat completions, and evaluation's retrieval metrics).

A question is asked from a point in time, its as-of date (default today): a document dated after it is never
returned when one is given, and relative time words are read against it. Time words steer it: "latest", "now"
re-rank a pool of candidates by publication date; "this week", "last month" favour a pool's candidates published
in that window; "in 2022", "before March 2023" narrow the dates searched (all dates again when none matches). k only cuts the ranking: the top 4 are the
first 4 of the top 10, so a face showing fewer passages shows the same ones, in the same order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .filters import Filters
from ..news.timescope import TimeScope, boost_fresh, boost_recent, boost_windows, read_time_scope

if TYPE_CHECKING:
    from ..types import Passage
    from . import Searcher

RECENT_POOL = 15  # for "latest"/"now" questions, the candidates re-ranked by date (whatever k a face asks for)
WINDOW_POOL = 30  # for "this week"/"last month" questions: last year's story on the topic often ranks first
FRESH_POOL = 30  # for questions without time words: the candidates the freshness prior re-ranks


@dataclass
class Retrieval:
    """What a question retrieved: passages best first, and what its time words did (None when it has none)."""

    passages: list[Passage]
    time_scope: dict[str, Any] | None = None


def retrieve(retriever: Searcher, question: str, k: int, *, mode: str | None = None,
             filters: Filters | None = None, as_of: dt.date | None = None) -> Retrieval:
    """The top-k passages for a question, its time words applied (period filter, recency boost), and what was done.

    mode: dense, lexical or hybrid (default: the retriever's setting). filters: the user's own source and date
    restrictions; a period the question names is laid over them. as_of: the day the question is asked from
    (default today); given, no document dated after it is returned."""
    if as_of is not None:
        filters = replace(filters or Filters(), as_of=as_of.isoformat())
    scope = read_time_scope(question, as_of)
    if scope is None:  # no time words: fresher sources are preferred a little (an old archive is left as it is)
        passages = retriever.search(question, k=max(k, FRESH_POOL), mode=mode, filters=filters)
        if any(p.date for p in passages[:FRESH_POOL]):
            passages = boost_fresh(passages[:FRESH_POOL], as_of or dt.date.today()) + passages[FRESH_POOL:]
        return Retrieval(passages[:k])
    fetch = max(k, WINDOW_POOL if scope.windows else RECENT_POOL if scope.recent else k)
    passages = _search_period(retriever, question, fetch, mode, filters, scope)
    if scope.windows:
        passages = _prefer_windows(passages, scope, max(k, WINDOW_POOL))
    if scope.recent:
        passages = _prefer_recent(passages, scope)
    return Retrieval(passages[:k], scope.to_dict())


def _search_period(retriever: Searcher, question: str, fetch: int, mode: str | None, filters: Filters | None,
                   scope: TimeScope) -> list[Passage]:
    """Candidates within the period the question names ("in 2022"), else (none named, or none there) all dates."""
    if scope.since or scope.until:
        period = f"{scope.since or 'any date'} to {scope.until or 'any date'}"
        passages = retriever.search(question, k=fetch, mode=mode, filters=scope.narrow(filters))
        scope.actions.append(f"only documents published {period}" if passages
                             else f"no document published {period} matches: searched all dates")
        if passages:
            return passages
    return retriever.search(question, k=fetch, mode=mode, filters=filters)


def _prefer_windows(passages: list[Passage], scope: TimeScope, pool: int) -> list[Passage]:
    """The pool re-ranked towards the windows the question's relative time words name."""
    dated = any(p.date for p in passages[:pool])
    named = ", ".join(f"'{w['words']}' = {w['start']} to {w['end']}" for w in scope.windows)
    scope.actions.append(f"sources published in the window preferred ({named})" if dated
                         else "no retrieved source is dated: the time window could not be applied")
    return boost_windows(passages[:pool], scope.window_list()) + passages[pool:]


def _prefer_recent(passages: list[Passage], scope: TimeScope) -> list[Passage]:
    """The pool re-ranked by date for "latest", "now" (only the pool: the top's order must not depend on how deep
    a face looks)."""
    dated = any(p.date for p in passages[:RECENT_POOL])
    scope.actions.append("newer sources preferred (recency boost)" if dated
                         else "no retrieved source is dated: recency could not be applied")
    return boost_recent(passages[:RECENT_POOL]) + passages[RECENT_POOL:]
