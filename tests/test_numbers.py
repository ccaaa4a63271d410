"""Number words from the language room (num2words): what the claim check and the quiz scorer read figures with."""

from __future__ import annotations

from rag.eval.quiz import normalise
from rag.language.numbers import digits_of_words, figure_words, spelled


def test_words_to_digits_and_back() -> None:
    table = digits_of_words()
    assert (table["six"], table["twenty-one"], table["hundred"]) == ("6", "21", "100")
    assert spelled("4") == ["four", "fourth"]
    assert "twenty one" in spelled("21") and spelled("1500") == []


def test_figure_words_skip_the_ones_that_are_mostly_not_figures() -> None:
    found = figure_words("For the first time, one of the two teams came third, a second behind.")
    assert found == [("two", ["2"]), ("third", ["3rd", "3"])]


def test_the_quiz_reads_number_words_as_digits() -> None:
    assert normalise("Six months & two days") == ["6", "months", "and", "2", "days"]
