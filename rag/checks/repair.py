"""Citation repair: a claim about to be cut for a name or number its quote lacks is cited to the passage that has it.

Small models cite one passage for a sentence that joins two ("Kazakhstan and Kyrgyzstan postponed ... [1]" where
passage 2 names Kyrgyzstan). Rather than cut a true sentence, the sentences of the other passages the model read
that hold every missing name and number are tried as a second quote, and the judge must find that the quotes
together back the claim. The added quote is the file's own text at its offsets, like every quote.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..text import markers, with_markers
from ..types import ClaimCheck
from .evidence import Evidence, Scored
from .ground import GroundedClaim
from .claims import MISSING_REASON, SupportJudge, missing_specifics, quotes_text

MAX_TRIES = 4  # candidate sentences put to the judge per claim


def repair_citations(claims: Sequence[GroundedClaim], checks: Sequence[ClaimCheck], evidence: Evidence,
                     question: str, judge: SupportJudge | None, threshold: float) -> list[GroundedClaim]:
    """The claims, each one cut for a missing name or number given a second quote where the judge backs it."""
    if judge is None:
        return list(claims)
    return [_repaired(claim, evidence, question, judge, threshold) if _repairable(claim, check) else claim
            for claim, check in zip(claims, checks)]


def _repairable(claim: GroundedClaim, check: ClaimCheck) -> bool:
    """Cut only because its passages lack a name or number, and verified quotes to build on."""
    return not check.supported and check.reason.startswith(MISSING_REASON) and any(c.verified for c in claim.citations)


def _repaired(claim: GroundedClaim, evidence: Evidence, question: str, judge: SupportJudge,
              threshold: float) -> GroundedClaim:
    """The claim with the best judged extra quote, or the claim itself when no candidate convinces the judge."""
    quotes = quotes_text(claim.citations)
    cited = {c.n for c in claim.citations}
    missing = missing_specifics(claim.text, " ".join([quotes, *(evidence.passages[n - 1].text for n in cited)]),
                                question)
    if not missing:
        return claim
    candidates = [s for s in evidence.sentences
                  if s.n not in cited and all(m.lower() in s.text.lower() for m in missing)]
    best, best_score = None, threshold
    for sentence in candidates[:MAX_TRIES]:
        score = judge.support(question, claim.text, f'{quotes} "{" ".join(sentence.text.split())}"')
        if score >= best_score:
            best, best_score = sentence, score
    if best is None:
        return claim
    extra = evidence.cite(Scored(best, 0.0, 0.0, 0.0), claim.text)
    numbers = list(dict.fromkeys([*markers(claim.sentence), best.n]))
    return GroundedClaim(with_markers(claim.sentence, numbers), claim.text, [*claim.citations, extra])
