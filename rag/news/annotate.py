"""News-aware answers: citations carry date and outlet; the answer says which date it speaks from (`as_of`), how
many independent sources back each claim, and where the sources disagree. (Time words steer retrieval through
timescope.py, called by rag/search/pipeline.py, the one path every face retrieves through.)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..types import Citation, ClaimCheck, Disagreement, Passage, RefusalReason
from .disagree import find_disagreements
from .outlets import source_key


@dataclass(frozen=True)
class NewsNotes:
    """What news reading adds to an answer: citations and evidence carrying their document's date and outlet,
    claims with their independent sources, the date the answer speaks from, and where the sources disagree."""

    citations: list[Citation] = field(default_factory=list)
    evidence: list[Citation] = field(default_factory=list)
    claims: list[ClaimCheck] = field(default_factory=list)
    newest_source: str | None = None  # newest publication date among the verified citations
    as_of: str | None = None  # the day asked from, else the newest cited date
    independent_sources: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)


def annotate(passages: list[Passage], citations: list[Citation], evidence: list[Citation], claims: list[ClaimCheck],
             question: str, as_of: str | None = None, refusal: RefusalReason | None = None) -> NewsNotes:
    """The news notes of an answer over `passages` (numbered from 1): dated copies of its citations, evidence and
    claims, `as_of` (the point in time asked from, else the newest cited date), independent sources per claim and
    in all, and disagreements (not looked for when nothing retrieved could answer)."""
    dated = dated_citations(citations, passages)
    newest = max((c.date for c in dated if c.verified and c.date), default=None)
    sourced = []
    for claim in claims:
        count = independent_sources([passages[n - 1] for n in claim.citations if 1 <= n <= len(passages)])
        sourced.append(replace(claim, sources=count, single_source=count == 1))
    cited = {c.n for c in dated if 1 <= c.n <= len(passages)}
    disagreements = ([] if refusal in (RefusalReason.NO_PASSAGES, RefusalReason.UNANSWERABLE)
                     else find_disagreements(question, passages))
    return NewsNotes(dated, dated_citations(evidence, passages), sourced, newest, as_of or newest,
                     independent_sources([passages[n - 1] for n in sorted(cited)]), disagreements)


def dated_citations(citations: list[Citation], passages: list[Passage]) -> list[Citation]:
    """The citations with their passages' document dates and outlets (the evidence shown before an answer too)."""
    return [_date_outlet(c, passages) for c in citations]


def _date_outlet(citation: Citation, passages: list[Passage]) -> Citation:
    """The citation with its passage's document date and outlet."""
    if not 1 <= citation.n <= len(passages):
        return citation
    passage = passages[citation.n - 1]
    return replace(citation, date=passage.date, outlet=passage.outlet)


def independent_sources(passages: list[Passage]) -> int:
    """How many independent sources the passages come from: documents of one outlet (or crediting one wire agency)
    count once, and so do near-duplicate copies collapsed into a passage."""
    groups: list[set[str]] = []
    for passage in passages:
        keys = {source_key(passage.origin or passage.outlet, passage.source), *passage.duplicate_keys}
        touching = [g for g in groups if g & keys]
        groups = [g for g in groups if not g & keys] + [keys.union(*touching)]
    return len(groups)
