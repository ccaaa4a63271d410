"""Passages cut to the sentences that best match the question, within a word budget."""

from __future__ import annotations

from rag.checks.evidence import Evidence
from rag.answer.focus import GAP_MARK, focus_passages
from rag.text import word_count
from rag.types import Passage

FLOODS = (
    "Heavy rain fell across the valley on Monday. The river rose two metres overnight. "
    "Officials said 42 people died in the floods. Schools in the capital stayed closed all week. "
    "The weather service expects drier days ahead."
)
DAM = "The old dam was built in 1931 by local workers. It was repaired twice since then. Engineers inspect it yearly."


def _passage(text: str, start: int = 100) -> Passage:
    return Passage(chunk_id=0, source="news.txt", start=start, end=start + len(text), score=1.0, text=text,
                   original=text)


def test_a_cut_passage_keeps_the_matching_sentence_verbatim_and_marks_what_was_left_out() -> None:
    passages = [_passage(FLOODS), _passage(DAM, 900)]
    question = "How many people died in the floods?"
    cut = focus_passages(passages, Evidence(passages), question, budget=20)
    assert "Officials said 42 people died in the floods." in cut[0].text
    assert "Schools in the capital" not in cut[0].text
    assert cut[0].text.startswith(GAP_MARK) and cut[0].text.endswith(GAP_MARK)
    assert cut[1].text  # every passage keeps its best sentence, even past the budget
    assert [(p.start, p.end, p.original) for p in cut] == [(p.start, p.end, p.original) for p in passages]


def test_the_budget_bounds_the_words_shown_beyond_each_passages_best_sentence() -> None:
    passages = [_passage(FLOODS), _passage(DAM, 900)]
    question = "When was the dam built and how high did the river rise?"
    for budget in (15, 30, 45):
        cut = focus_passages(passages, Evidence(passages), question, budget)
        shown = sum(word_count(p.text.replace(GAP_MARK, "")) for p in cut)
        assert shown <= max(budget, 2 * 10)  # at most the budget, or the two best sentences when they exceed it
    wide = focus_passages(passages, Evidence(passages), question, budget=45)
    assert "built in 1931" in wide[1].text and "rose two metres" in wide[0].text


def test_passages_within_the_budget_or_a_zero_budget_are_shown_whole() -> None:
    passages = [_passage(FLOODS), _passage(DAM, 900)]
    assert focus_passages(passages, Evidence(passages), "floods?", budget=0) == passages
    assert focus_passages(passages, Evidence(passages), "floods?", budget=500) == passages


def test_a_passage_whose_file_is_gone_is_shown_as_stored() -> None:
    gone = Passage(chunk_id=1, source="gone.txt", start=0, end=len(DAM), score=1.0, text=DAM, original=None)
    passages = [_passage(FLOODS), gone]
    cut = focus_passages(passages, Evidence(passages), "How many people died?", budget=10)
    assert cut[1].text == DAM and "42 people died" in cut[0].text
