"""The answer is built by steps that return values: checking a reply gives what stands of it, and the news notes
are new values, never edits to what the other steps made."""

from __future__ import annotations

from rag.checks.evidence import Evidence
from rag.checks.verdict import check_reply
from rag.config import AnswerSettings
from rag.news.annotate import annotate
from rag.types import REFUSAL, Citation, ClaimCheck, Passage, RefusalReason

from .conftest import FakeJudge

TEXT = "The council approved the new bridge on Monday. Work starts in May and costs 40 million euros."


def passages() -> list[Passage]:
    """One dated passage whose original text is its own text."""
    return [Passage(chunk_id=0, source="bridge.txt", start=0, end=len(TEXT), score=1.0, text=TEXT, original=TEXT,
                    date="2024-03-04", outlet="Town Gazette")]


def test_a_quoted_reply_stands_with_verified_citations_and_a_verdict_per_claim():
    found = passages()
    reply = 'The council approved the new bridge [1].\n\nQuotes:\n[1] "The council approved the new bridge on Monday."'
    checked = check_reply(reply, found, Evidence(found), "What did the council approve?", AnswerSettings(),
                          FakeJudge)
    assert checked.refusal is None and "approved the new bridge [1]" in checked.text
    assert [c.n for c in checked.citations] == [1] and checked.citations[0].verified
    assert TEXT[checked.citations[0].start:checked.citations[0].end].startswith("The council approved")
    assert [c.supported for c in checked.claims] == [True]


def test_a_refusing_or_uncited_reply_is_declined_with_its_reason():
    found = passages()
    refused = check_reply(REFUSAL, found, Evidence(found), "Who built it?", AnswerSettings(), FakeJudge)
    assert (refused.text, refused.refusal, refused.citations) == (REFUSAL, RefusalReason.MODEL, [])
    made_up = check_reply("The mayor resigned over it.", found, Evidence(found), "Who resigned?", AnswerSettings(),
                          FakeJudge)
    assert made_up.refusal in (RefusalReason.NO_CITATION, RefusalReason.UNSUPPORTED) and made_up.text == REFUSAL


def test_news_notes_are_new_values_and_leave_their_inputs_alone():
    found = passages()
    citation = Citation(n=1, source="bridge.txt", start=0, end=46, quote=TEXT[:46], verified=True)
    claim = ClaimCheck("The council approved the new bridge [1].", [1], supported=True)
    notes = annotate(found, [citation], [], [claim], "What did the council approve?", None)
    assert (notes.citations[0].date, notes.citations[0].outlet) == ("2024-03-04", "Town Gazette")
    assert notes.as_of == notes.newest_source == "2024-03-04"
    assert notes.claims[0].sources == 1 and notes.claims[0].single_source
    assert citation.date is None and claim.sources == 0  # what the check step made is unchanged
    assert annotate(found, [citation], [], [claim], "q", "2024-04-01").as_of == "2024-04-01"
