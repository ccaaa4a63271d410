"""Disagreement on names (issue #12) on tests/data/news-names: outlets naming different people or bodies for who
ordered the evacuation of Orsk, or who said the Lenta dam would hold, shown side by side with verified quotes;
the same person named two ways, names the question gives, and sentences naming both are not disagreements."""

from __future__ import annotations

import shutil

import pytest

from rag.answer.assistant import Assistant
from rag.news.disagree import find_disagreements
from rag.news.disagree_names import find_name_disagreements
from rag.index.build import index_paths
from rag.search.retriever import Retriever
from rag.types import Passage
from tests.fakes import FakeChatModel

from .conftest import REPO, HashEmbedder
from .test_news_answers import cite, cli_ask

NAMES = REPO / "tests" / "data" / "news-names"  # four outlets on the evacuation of Orsk, dated in front matter
ORDERED = "Who ordered the evacuation of Orsk?"
SAID = "Who said the Lenta dam would hold?"


@pytest.fixture
def names_index(settings, tmp_path):
    """Index a chosen few files of tests/data/news-names (copied), answers gated as for the hash embedder."""

    def build(*files: str):
        folder = tmp_path / "news-names"
        folder.mkdir()
        for name in files:
            shutil.copy(NAMES / name, folder / name)
        index_paths([folder], settings, HashEmbedder())
        return settings

    return build


def passages(settings, question: str) -> list[Passage]:
    return Retriever(settings, embedder=HashEmbedder()).search(question, k=6)


def assert_verified(citation, passages: list[Passage]) -> None:
    """The quote is the file's own characters at the citation's offsets."""
    source = next(p for p in passages if p.source == citation.source)
    text = (NAMES / citation.source).read_text(encoding="utf-8")
    assert citation.verified and citation.quote == text[citation.start : citation.end]
    assert source.original_slice(citation.start, citation.end) == citation.quote


def test_who_ordered_shows_both_names_with_verified_quotes_outlet_and_date(names_index) -> None:
    settings = names_index("tribune-orsk.md", "gazette-orsk.md", "courier-orsk.md")
    llm = FakeChatModel(cite("Governor Anna Petrova ordered", "Governor Anna Petrova ordered it"))
    result = Assistant(settings, retriever=Retriever(settings, embedder=HashEmbedder()), llm=llm).ask(ORDERED)
    [disagreement] = result.disagreements
    assert disagreement.what == "person or body who ordered the evacuation of Orsk"
    governor, army = disagreement.values  # the earlier report first
    assert (governor.value, governor.citation.outlet, governor.citation.date) == (
        "Governor Anna Petrova", "Kassel Tribune", "2024-03-03")
    assert (army.value, army.citation.outlet, army.citation.date) == ("the army", "Orsk Courier", "2024-03-05")
    assert governor.citation.quote.startswith("Governor Anna Petrova ordered the evacuation of Orsk")
    assert army.citation.quote.startswith("The army ordered the evacuation of Orsk")
    # The Gazette names her by surname only: the same person, its quote listed with hers.
    [gazette] = governor.also
    assert (gazette.outlet, gazette.date) == ("Valdoria Gazette", "2024-03-04")
    assert gazette.quote.startswith("Petrova ordered the evacuation")
    for citation in (governor.citation, army.citation, gazette):
        assert_verified(citation, result.passages)


def test_cli_heading_reads_as_a_sentence(names_index, monkeypatch) -> None:
    settings = names_index("tribune-orsk.md", "gazette-orsk.md", "courier-orsk.md")
    out = cli_ask(monkeypatch, settings.index, ORDERED, cite("The army ordered", "The army ordered it"))
    assert ("Sources differ on the person or body who ordered the evacuation of Orsk "
            "(Governor Anna Petrova, the army):") in out.stdout


def test_who_said_a_statement_attributed_to_two_people(names_index) -> None:
    settings = names_index("tribune-orsk.md", "gazette-orsk.md", "courier-orsk.md")
    found = passages(settings, SAID)
    [disagreement] = find_disagreements(SAID, found)
    assert disagreement.what == "person or body who said the Lenta dam would hold"
    assert [(v.value, v.citation.outlet) for v in disagreement.values] == [
        ("Governor Anna Petrova", "Kassel Tribune"), ("General Viktor Markov", "Orsk Courier")]
    assert "Petrova told reporters" in disagreement.values[0].citation.quote
    assert "said General Viktor Markov" in disagreement.values[1].citation.quote
    for value in disagreement.values:
        assert_verified(value.citation, found)
    [quoted] = find_disagreements("According to whom will the Lenta dam hold?", found)
    assert quoted.what == "person or body quoted" and len(quoted.values) == 2


def test_full_name_and_surname_are_one_person(names_index) -> None:
    settings = names_index("tribune-orsk.md", "gazette-orsk.md")
    found = passages(settings, ORDERED)
    assert {p.source for p in found} == {"tribune-orsk.md", "gazette-orsk.md"}
    assert find_disagreements(ORDERED, found) == []


def test_a_sentence_naming_both_is_no_disagreement(names_index) -> None:
    """The Dispatch has the army order the evacuation at the governor's request: the two are not alternatives."""
    settings = names_index("tribune-orsk.md", "gazette-orsk.md", "courier-orsk.md", "dispatch-orsk.md")
    found = passages(settings, ORDERED)
    assert "dispatch-orsk.md" in {p.source for p in found}
    assert find_disagreements(ORDERED, found) == []
    assert find_disagreements(ORDERED, [p for p in found if p.source != "dispatch-orsk.md"]) != []


def test_names_in_the_question_are_never_values() -> None:
    """Both documents name General Markov, whom the question names: his is not an answer, so nothing differs."""

    def doc(source: str, text: str, date: str) -> Passage:
        return Passage(0, source, 0, len(text), 1.0, text, date=date, outlet=source, original=text)

    docs = [
        doc("a.txt", "Governor Anna Petrova ordered General Viktor Markov to evacuate Orsk on Sunday.", "2024-03-03"),
        doc("b.txt", "General Viktor Markov ordered the troops to evacuate Orsk on Sunday night.", "2024-03-04"),
    ]
    assert find_name_disagreements("Who ordered General Markov to evacuate Orsk?", docs) == []
    # Without his name in the question the two documents do name different people.
    [differ] = find_name_disagreements("Who ordered the evacuation of Orsk on Sunday?", [
        doc("a.txt", "Governor Anna Petrova ordered the evacuation of Orsk on Sunday.", "2024-03-03"),
        doc("b.txt", "General Viktor Markov ordered the evacuation of Orsk on Sunday night.", "2024-03-04")])
    assert [v.value for v in differ.values] == ["Governor Anna Petrova", "General Viktor Markov"]


def test_same_name_in_other_case_or_accents_and_unsure_roles_are_not_flagged() -> None:
    def doc(source: str, text: str) -> Passage:
        return Passage(0, source, 0, len(text), 1.0, text, original=text)

    def differ(a: str, b: str) -> list:
        return find_name_disagreements(ORDERED, [doc("a.txt", a), doc("b.txt", b)])

    mayor = "Mayor Zoë Kovač ordered the evacuation of Orsk."
    assert differ(mayor, "ZOE KOVAC ordered the evacuation of Orsk.") == []
    assert differ(mayor, "Mayor Ivan Petrov ordered the evacuation of Orsk.") != []
    # A bare surname could be the governor: it is never told apart from a role.
    governor = "The governor ordered the evacuation of Orsk."
    assert differ(governor, "On Sunday Kovac ordered the evacuation of Orsk.") == []
    # "Officials" name nobody; a negated order names no doer; "also" says both did.
    assert differ(governor, "Officials ordered the evacuation of Orsk.") == []
    assert differ(governor, "The army did not order the evacuation of Orsk.") == []
    assert differ(governor, "The army also ordered the evacuation of Orsk.") == []
    assert differ(governor, "The army ordered the evacuation of Orsk.") != []


def test_questions_that_ask_no_doer_give_no_name_disagreement(names_index) -> None:
    settings = names_index("tribune-orsk.md", "gazette-orsk.md", "courier-orsk.md")
    for question in ("Why was Orsk evacuated?", "Where did the residents of Orsk go?",
                     "What did the army do in Orsk?", "Who did Governor Petrova put in charge of Orsk?"):
        assert find_name_disagreements(question, passages(settings, question)) == [], question
        assert not any(d.what.startswith("person") for d in find_disagreements(question, passages(settings, question)))


def test_what_the_word_lists_could_not_tell_the_parse_does() -> None:
    """A doer in the passive, Interior vs Defence Ministry, a role naming the person the story named, a country
    and its capital: cases the hand-written rules got wrong (issue #27), read from spaCy's parse."""

    def doc(source: str, text: str, date: str) -> Passage:
        return Passage(0, source, 0, len(text), 1.0, text, date=date, outlet=source, original=text)

    def differ(question: str, a: str, b: str) -> list:
        return find_name_disagreements(question, [doc("a.txt", a, "2024-03-03"), doc("b.txt", b, "2024-03-04")])

    border = "Who ordered the closure of the border crossing?"
    passive = "The closure of the border crossing was ordered by the Interior Ministry on Monday."
    [two] = differ(border, passive, "The Defence Ministry ordered the closure of the border crossing late on Monday.")
    assert [v.value for v in two.values] == ["Interior Ministry", "Defence Ministry"]
    assert two.values[0].citation.quote == passive and two.values[0].citation.verified
    assert differ(border, passive, "The Interior Ministry ordered the closure of the border crossing on Monday.") == []
    treaty = "Who signed the water treaty with Kazakhstan?"
    assert differ(treaty, "President Sadyr Japarov signed the water treaty with Kazakhstan in Astana.",
                  "Kyrgyz President Sadyr Japarov arrived in Astana. The president signed the water treaty with "
                  "Kazakhstan on Friday.") == []
    assert differ(treaty, "President Sadyr Japarov signed the water treaty with Kazakhstan in Astana.",
                  "Prime Minister Akylbek Japarov signed the water treaty with Kazakhstan on Friday.") != []
    deal = "Who blocked the pipeline deal?"
    assert differ(deal, "Hungary blocked the pipeline deal at the summit.", "Budapest blocked the pipeline deal.") == []
    assert differ(deal, "Hungary blocked the pipeline deal at the summit.", "Germany blocked the pipeline deal.") != []
