"""News-aware answers: citations carry date and outlet; the answer says which date it speaks from (`as_of`), how
many independent sources back each claim, and where the sources disagree. (Time words steer retrieval in
rag/search/pipeline.py, the one path every face retrieves through.)
"""

from __future__ import annotations

from ..ingest.outlets import source_key
from ..types import Answer, Citation, Passage, RefusalReason
from .disagree import find_disagreements


def annotate(result: Answer, question: str, as_of: str | None = None) -> None:
    """Fill dates/outlets on citations, `as_of` (the point in time asked from, else the newest cited date),
    independent sources per claim and answer, and disagreements."""
    passages = result.passages
    for citation in [*result.citations, *result.evidence]:
        _date_outlet(citation, passages)
    result.newest_source = max((c.date for c in result.citations if c.verified and c.date), default=None)
    result.as_of = as_of or result.newest_source
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
