"""The model's reply checked, in one pass that returns what stands: read into claims, each claim tied to verified
quotes (ground.py), put to the judge with its names and numbers looked up (claims.py), optionally re-cited
(repair.py); the claims that stand make the answer, else the reply is declined with the reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..config import AnswerSettings
from ..text import tidy_text, with_markers
from ..types import REFUSAL, Citation, ClaimCheck, Passage, RefusalReason
from .claims import ClaimToJudge, SupportJudge, judge_claims
from .evidence import Evidence
from .ground import GroundedClaim, ground_claims
from .repair import repair_citations
from .reply import ParsedReply, is_paraphrased_refusal, is_refusal, parse_reply


@dataclass(frozen=True)
class CheckedReply:
    """What stands of a reply: the answer text as shown, its citations and the verdict on every claim; or the
    refusal and why (`refusal` set, `text` the fixed refusal)."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    claims: list[ClaimCheck] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)  # [n] markers that named no passage
    refusal: RefusalReason | None = None


def declined(reason: RefusalReason, claims: list[ClaimCheck] | None = None, dropped: list[int] | None = None
             ) -> CheckedReply:
    """The fixed refusal, without citations (the claims that were judged stay, to show why)."""
    return CheckedReply(REFUSAL, claims=claims or [], dropped=dropped or [], refusal=reason)


def check_reply(raw: str, passages: list[Passage], evidence: Evidence, question: str, settings: AnswerSettings,
                judge: Callable[[], SupportJudge]) -> CheckedReply:
    """Check the model's raw reply against the passages it read. `judge` gives the claim judge when one is needed
    (it may be a chat model, so it is made only then)."""
    parsed = parse_reply(raw, len(passages))
    if is_refusal(raw) or is_paraphrased_refusal(parsed):
        return declined(RefusalReason.MODEL)
    text, claims = ground_claims(_cite_unmarked_quotes(parsed, len(passages)), evidence, question)
    if not any(claim.citations for claim in claims):
        return declined(RefusalReason.NO_CITATION, dropped=parsed.dropped)
    checks = _judge(claims, passages, question, settings, judge)
    if settings.repair_citations and not all(c.supported for c in checks):
        repaired = repair_citations(claims, checks, evidence, question, judge(), settings.support_threshold)
        if any(new is not old for old, new in zip(claims, repaired)):
            text = _swap_sentences(text, claims, repaired)
            claims, checks = repaired, _judge(repaired, passages, question, settings, judge)
    kept = [claim for claim, check in zip(claims, checks) if check.supported]
    if not kept:
        return declined(RefusalReason.UNSUPPORTED, checks, parsed.dropped)
    citations = list({(c.n, c.start, c.end): c for claim in kept for c in claim.citations}.values())
    return CheckedReply(_checked_text(text, claims, checks), citations, checks, parsed.dropped)


def _judge(claims: list[GroundedClaim], passages: list[Passage], question: str, settings: AnswerSettings,
           judge: Callable[[], SupportJudge]) -> list[ClaimCheck]:
    """A verdict per claim: its quotes put to the judge, its names and numbers looked up in its passages (or, with
    claim checks off, supported when cited)."""
    if not settings.check_claims:
        return [ClaimCheck(c.sentence, _numbers(c), supported=bool(c.citations), shown=c.sentence) for c in claims]
    items = [ClaimToJudge.of(c.sentence, c.text, _numbers(c), c.citations, passages) for c in claims]
    return judge_claims(items, question, judge(), settings.support_threshold)


def _numbers(claim: GroundedClaim) -> list[int]:
    """The passage numbers a claim cites."""
    return list(dict.fromkeys(c.n for c in claim.citations))


def _cite_unmarked_quotes(parsed: ParsedReply, count: int) -> ParsedReply:
    """A reply that gives quotes but no [n] in its text, with the quotes' passages cited at its end."""
    if parsed.cited or not parsed.quotes:
        return parsed
    quotes = parsed.quotes
    cited = parse_reply(with_markers(parsed.text, list(quotes)), count)
    cited.quotes = quotes
    return cited


def _swap_sentences(text: str, old: list[GroundedClaim], new: list[GroundedClaim]) -> str:
    """The answer text with each re-cited claim's sentence showing its new markers."""
    for before, after in zip(old, new):
        if after is not before:
            text = text.replace(before.sentence, after.sentence, 1)
    return text


def _checked_text(text: str, claims: list[GroundedClaim], checks: list[ClaimCheck]) -> str:
    """The answer as shown: each claim as its check shows it (trimmed), unsupported ones removed."""
    for claim, check in zip(claims, checks):
        text = text.replace(claim.sentence, check.shown if check.supported else "", 1)
    return tidy_text(text)
