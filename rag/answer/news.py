"""News-aware answers: time words steer retrieval; citations carry date and outlet; the answer says which date it
speaks from (`as_of`), how many independent sources back each claim, and where the sources disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..ingest.outlets import source_key
from ..search.timescope import boost_recent, read_time_scope
from ..types import Answer, Citation, Passage, RefusalReason
from .disagree import find_disagreements

if TYPE_CHECKING:
    from ..search import Filters, Searcher

RECENT_POOL = 3  # for "latest"/"now" questions, candidates fetched per passage shown, then re-ranked by date


def search(retriever: Searcher, question: str, k: int,
           filters: Filters | None) -> tuple[list[Passage], dict[str, Any] | None]:
    """Passages for a question, its time words applied (recency boost, period filter); and what was done."""
    scope = read_time_scope(question)
    if scope is None:
        return retriever.search(question, k=k, filters=filters), None
    fetch = k * RECENT_POOL if scope.recent else k
    passages: list[Passage] = []
    if scope.since or scope.until:
        period = f"{scope.since or 'any date'} to {scope.until or 'any date'}"
        passages = retriever.search(question, k=fetch, filters=scope.narrow(filters))
        scope.actions.append(f"only documents published {period}" if passages
                             else f"no document published {period} matches: searched all dates")
    if not passages:
        passages = retriever.search(question, k=fetch, filters=filters)
    if scope.recent:
        dated = any(p.date for p in passages)
        passages = boost_recent(passages)
        scope.actions.append("newer sources preferred (recency boost)" if dated
                             else "no retrieved source is dated: recency could not be applied")
    return passages[:k], scope.to_dict()


def annotate(result: Answer, question: str) -> None:
    """Fill dates/outlets on citations, `as_of`, independent sources per claim and answer, and disagreements."""
    passages = result.passages
    for citation in [*result.citations, *result.evidence]:
        _date_outlet(citation, passages)
    result.as_of = max((c.date for c in result.citations if c.verified and c.date), default=None)
    for claim in result.claims:
        claim.sources = independent_sources([passages[n - 1] for n in claim.citations if 1 <= n <= len(passages)])
        claim.single_source = claim.sources == 1
    cited = {c.n for c in result.citations if 1 <= c.n <= len(passages)}
    result.independent_sources = independent_sources([passages[n - 1] for n in sorted(cited)])
    if result.refusal_reason not in (RefusalReason.NO_PASSAGES, RefusalReason.UNANSWERABLE):
        result.disagreements = find_disagreements(question, passages)


def _date_outlet(citation: Citation, passages: list[Passage]) -> None:
    """Copy the cited passage's document date and outlet onto the citation."""
    if 1 <= citation.n <= len(passages):
        passage = passages[citation.n - 1]
        citation.date, citation.outlet = passage.date, passage.outlet


def independent_sources(passages: list[Passage]) -> int:
    """How many independent sources the passages come from: documents of one outlet (or crediting one wire agency)
    count once, and so do near-duplicate copies collapsed into a passage."""
    groups: list[set[str]] = []
    for passage in passages:
        keys = {source_key(passage.origin or passage.outlet, passage.source), *passage.duplicate_keys}
        touching = [g for g in groups if g & keys]
        groups = [g for g in groups if not g & keys] + [keys.union(*touching)]
    return len(groups)
