"""Citation parsing, quote verification against the real seed text, sentence selection."""

from __future__ import annotations

import pytest

from rag.checks.evidence import Evidence, verify_quote
from rag.checks.ground import ground_claims
from rag.checks.claims import unsupported_numbers
from rag.checks.reply import ParsedReply, is_paraphrased_refusal, is_refusal, parse_reply
from rag.text import clean_quote, normalise, normalise_with_map, sentence_spans
from rag.text import loose_marker_numbers as marker_numbers
from rag.types import REFUSAL, Passage

from .conftest import CORPUS, HashEmbedder

DOC_001 = "001_8616b1cfa831146b.txt"
DOC_002 = "002_838f15288c1da675.txt"



def ground(parsed: ParsedReply, evidence: Evidence, question: str = ""):
    """The answer text and its claims' citations, each (passage, span) once."""
    text, claims = ground_claims(parsed, evidence, question)
    return text, list({(c.n, c.start, c.end): c for claim in claims for c in claim.citations}.values())

def _original(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def _passage_around(source: str, needle: str, before: int = 300, after: int = 300) -> Passage:
    """A passage spanning `needle` in the real file (offsets into the original text)."""
    original = _original(source)
    at = original.index(needle)
    start, end = max(0, at - before), min(len(original), at + len(needle) + after)
    return Passage(
        chunk_id=0, source=source, start=start, end=end, score=1.0, text=" ".join(original[start:end].split()),
        original=original[start:end],
    )


# ---------------------------------------------------------------- markers and quotes


@pytest.mark.parametrize(
    ("inner", "numbers"),
    [("1", [1]), ("1, 2", [1, 2]), ("1,2;3", [1, 2, 3]), ("1-3", [1, 2, 3]), ("2 and 4", [2, 4]), ("Passage 2", [2])],
)
def test_marker_numbers(inner: str, numbers: list[int]) -> None:
    assert marker_numbers(inner) == numbers


@pytest.mark.parametrize(
    ("reply", "text", "numbers"),
    [
        ("Paris is the capital [1].", "Paris is the capital [1].", [[1]]),
        ("Paris is the capital [1][2].", "Paris is the capital [1][2].", [[1, 2]]),
        ("Paris is the capital [1, 2].", "Paris is the capital [1][2].", [[1, 2]]),
        ("Paris is the capital. [2]", "Paris is the capital. [2]", [[2]]),
        ("Answer: It is Paris [Passage 3]. It is big [1].", "It is Paris [3]. It is big [1].", [[3], [1]]),
    ],
)
def test_parse_markers(reply: str, text: str, numbers: list[list[int]]) -> None:
    parsed = parse_reply(reply, n_passages=4)
    assert parsed.text == text
    assert [c.numbers for c in parsed.claims] == numbers
    assert (
        parsed.claims[0].text.startswith(("Paris is the capital", "It is Paris")) and "[" not in parsed.claims[0].text
    )


def test_parse_quote_block_forms() -> None:
    reply = (
        "Armenia cancelled them because the CSTO refused to help [1]. Turkey gained [2, 3].\n\n"
        "**Quotes:**\n"
        '[1] "Armenia, after the CSTO refused to help"\n'
        "- [2]: “Ankara benefited the most”\n"
        "3. 'the terminal in Novorossiysk'\n"
    )
    parsed = parse_reply(reply, n_passages=4)
    assert parsed.text == "Armenia cancelled them because the CSTO refused to help [1]. Turkey gained [2][3]."
    assert parsed.quotes == {
        1: ["Armenia, after the CSTO refused to help"],
        2: ["Ankara benefited the most"],
        3: ["the terminal in Novorossiysk"],
    }
    assert parsed.cited == [1, 2, 3] and parsed.dropped == []


def test_quote_lines_without_header_and_several_per_line() -> None:
    parsed = parse_reply('It was BelTA [1] and Macron [2].\n[1] "told the BelTA news agency" [2] "Emmanuel Macron"', 2)
    assert parsed.text == "It was BelTA [1] and Macron [2]."
    assert parsed.quotes == {1: ["told the BelTA news agency"], 2: ["Emmanuel Macron"]}


def test_inline_quotes_are_lifted_out_of_the_text() -> None:
    parsed = parse_reply('It was BelTA [1: "Lavrov told the BelTA news agency"]. And [2] ("seven minutes").', 2)
    assert parsed.text == "It was BelTA [1]. And [2]."
    assert parsed.quotes == {1: ["Lavrov told the BelTA news agency"], 2: ["seven minutes"]}


def test_markers_naming_missing_passages_are_dropped() -> None:
    parsed = parse_reply('Yes [1][7]. No [0].\nQuotes:\n[7] "nowhere"', n_passages=4)
    assert parsed.text == "Yes [1]. No."
    assert parsed.cited == [1]
    assert sorted(parsed.dropped) == [0, 7] and 7 not in parsed.quotes


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ('"exact words."', "exact words"),
        ("“curly words”", "curly words"),
        ("…middle part...", "middle part"),
        (': "after colon",', "after colon"),
        ('*"bold"*', "bold"),
    ],
)
def test_clean_quote(raw: str, clean: str) -> None:
    assert clean_quote(raw) == clean


def test_refusal_detection() -> None:
    assert is_refusal(REFUSAL) and is_refusal("the documents don't say") and is_refusal('"The documents do not say"')
    assert not is_refusal("The documents say it was 2018 [1].")
    for declined in ["The passages do not mention the population of Kazakhstan.",
                     "The GDP of Uzbekistan is not mentioned in the given passages [1].",
                     "There is no information about that [2]. The documents don't say more."]:
        assert is_paraphrased_refusal(parse_reply(declined, 4)), declined
    for answered in ["Kazakhstan sends 80 percent of its oil through Russia [1].",
                     "It was 2018 [1]. The passages do not mention the month."]:  # a partial answer is an answer
        assert not is_paraphrased_refusal(parse_reply(answered, 4)), answered


# ---------------------------------------------------------------- verification


def test_normalise_maps_back_to_original_positions() -> None:
    text = "He said\u00a0“yes” —\n\n  twice\u200b."
    folded, index = normalise_with_map(text, offset=100)
    assert folded == 'he said "yes" - twice.'
    assert len(index) == len(folded) and index[0] == 100 and text[index[folded.index("t")] - 100] == "t"


def test_verify_quote_across_nbsp_in_real_seed_text() -> None:
    original = _original(DOC_001)
    assert "BelTA\u00a0news" in original  # the file really has a no-break space there
    passage = _passage_around(DOC_001, "BelTA\u00a0news")
    span = verify_quote("Lavrov told the BelTA news agency", original[passage.start : passage.end], passage.start)
    assert span is not None
    assert normalise(original[span[0] : span[1]]) == "lavrov told the belta news agency"
    assert original[span[0] : span[1]] == "Lavrov told the BelTA\u00a0news agency"


def test_verify_quote_tolerates_typography_and_case_not_words() -> None:
    original = _original(DOC_002)
    passage = _passage_around(DOC_002, "benefited the most")
    assert verify_quote("ankara benefited the most from Moscow's hesitation", original[passage.start : passage.end], passage.start)
    assert (
        verify_quote("Ankara benefited greatly from Moscow's hesitation", original[passage.start : passage.end], passage.start) is None
    )


def test_verify_quote_only_inside_the_passage() -> None:
    original = _original(DOC_002)
    passage = _passage_around(DOC_002, "benefited the most", before=0, after=0)
    assert verify_quote("Armenia, after the CSTO refused to help", original[passage.start : passage.end], passage.start) is None


def test_ground_on_real_index_maps_quote_to_original(seed_index) -> None:
    """Quote verification against a real index: Passage offsets point into the original file text."""
    from rag.search.retriever import Retriever
    from rag.index.embedded.store import IndexStore

    retriever = Retriever(seed_index, embedder=HashEmbedder())
    passages = retriever.search("Lavrov told the BelTA news agency luring allies", k=4)
    n = next(i for i, p in enumerate(passages, start=1) if "BelTA news agency" in p.text)
    store = IndexStore(seed_index.index)
    originals = {p.source: store.document_original(p.source) for p in passages}
    parsed = parse_reply(
        f'Lavrov spoke to BelTA [{n}].\nQuotes:\n[{n}] "Lavrov told the BelTA news agency"', len(passages)
    )
    _, [citation] = ground(parsed, Evidence(passages, retriever.embedder), "Which agency?")
    original = originals[passages[n - 1].source]
    assert citation.verified and citation.method == "model" and citation.source == DOC_001
    assert original[citation.start : citation.end] == citation.quote
    assert normalise(citation.quote) == normalise("Lavrov told the BelTA news agency")
    assert "\u00a0" in citation.quote  # shown exactly as the file has it


# ---------------------------------------------------------------- sentence selection


def test_sentence_spans_keep_abbreviations_together() -> None:
    text = "Mr. Putin met U.S. officials. They talked.\nNext line here"
    assert [text[a:b] for a, b in sentence_spans(text, 0, len(text))] == [
        "Mr. Putin met U.S. officials.",
        "They talked.",
        "Next line here",
    ]


def test_select_sentence_picks_the_supporting_sentence() -> None:
    original = _original(DOC_002)
    passage = _passage_around(DOC_002, "Armenia, after the CSTO refused", before=400, after=400)
    claim = "Armenia cancelled the exercises because the CSTO refused to help against Azerbaijan"
    evidence = Evidence([passage], HashEmbedder())
    cited = evidence.cite(evidence.best(claim, "", 1), claim)
    span = cited.start, cited.end
    chosen = original[span[0] : span[1]]
    assert "CSTO refused to help" in chosen and "Azerbaijan" in chosen
    assert passage.start <= span[0] < span[1] <= passage.end


def test_wrong_or_missing_quote_falls_back_to_selected_sentence() -> None:
    original = _original(DOC_002)
    passages = [_passage_around(DOC_002, "Armenia, after the CSTO refused", before=400, after=400)]
    parsed = parse_reply(
        'The CSTO refused to help Armenia against Azerbaijan [1].\nQuotes:\n[1] "the CSTO abandoned Armenia"', 1
    )
    _, [citation] = ground(
        parsed, Evidence(passages, HashEmbedder()), "Why did Armenia cancel CSTO exercises?"
    )
    assert citation.method == "selected" and citation.verified
    assert original[citation.start : citation.end] == citation.quote and "CSTO refused to help" in citation.quote


def test_short_model_quote_is_replaced_by_a_sentence() -> None:
    original = _original(DOC_001)
    passages = [_passage_around(DOC_001, "BelTA\u00a0news")]
    parsed = parse_reply('BelTA [1].\nQuotes:\n[1] "BelTA"', 1)
    _, [citation] = ground(
        parsed, Evidence(passages, HashEmbedder()), "Which news agency did Lavrov talk to?"
    )
    assert citation.method == "selected" and "BelTA" in citation.quote
    assert original[citation.start : citation.end] == citation.quote


def test_missing_document_gives_unverified_citation() -> None:
    passages = [Passage(chunk_id=0, source="gone.txt", start=0, end=50, score=1.0, text="whatever")]
    parsed = parse_reply('Yes [1].\nQuotes:\n[1] "some quoted words here"', 1)
    _, [citation] = ground(parsed, Evidence(passages, HashEmbedder()), "q?")
    assert citation.verified is False and citation.quote == "some quoted words here"


def test_attribute_cites_unmarked_sentences_by_quote_or_similarity() -> None:
    original = _original(DOC_002)
    passages = [
        _passage_around(DOC_002, "benefited the most", before=0, after=40),
        _passage_around(DOC_002, "Armenia, after the CSTO refused", before=0, after=300),
    ]
    parsed = parse_reply(
        'It cancelled them, stating "Armenia, after the CSTO refused to help". Penguins sing opera.', 2
    )
    text, citations = ground(parsed, Evidence(passages, HashEmbedder()))
    assert text.startswith('It cancelled them, stating "Armenia, after the CSTO refused to help" [2].')
    assert text.endswith("Penguins sing opera.")  # unsupported: no marker invented
    assert [(c.n, c.method, c.verified) for c in citations] == [(2, "model", True)]
    assert original[citations[0].start : citations[0].end] == citations[0].quote


def test_claim_citing_the_wrong_passage_moves_to_the_supporting_one() -> None:
    original = _original(DOC_002)
    passages = [
        _passage_around(DOC_002, "benefited the most", before=0, after=40),
        _passage_around(DOC_002, "Armenia, after the CSTO refused", before=0, after=300),
    ]
    parsed = parse_reply(
        "Armenia, after the CSTO refused to help in the conflict with Azerbaijan, cancelled them [1].", 2
    )
    text, [citation] = ground(parsed, Evidence(passages, HashEmbedder()))
    assert citation.n == 2 and citation.method == "selected" and "CSTO refused to help" in citation.quote
    assert original[citation.start : citation.end] == citation.quote
    assert text == "Armenia, after the CSTO refused to help in the conflict with Azerbaijan, cancelled them [2]."


def test_exact_quote_under_the_wrong_number_moves_with_method_model() -> None:
    original = _original(DOC_002)
    passages = [
        _passage_around(DOC_002, "benefited the most", before=0, after=40),
        _passage_around(DOC_002, "Armenia, after the CSTO refused", before=0, after=300),
    ]
    parsed = parse_reply('They cancelled [1].\nQuotes:\n[1] "Armenia, after the CSTO refused to help"', 2)
    text, [citation] = ground(parsed, Evidence(passages, HashEmbedder()))
    assert (citation.n, citation.method, citation.verified) == (2, "model", True) and text == "They cancelled [2]."
    assert original[citation.start : citation.end] == citation.quote


def test_evidence_skips_lines_the_cleaner_dropped() -> None:
    original = "Real sentence about the summit here.\nShare on Facebook now please friends\nAnother real sentence follows here."
    passage = Passage(
        0, "x.txt", 0, len(original), 1.0, "Real sentence about the summit here.\nAnother real sentence follows here.",
        original=original,
    )
    texts = [s.text for s in Evidence([passage]).sentences]
    assert texts == ["Real sentence about the summit here.", "Another real sentence follows here."]


@pytest.mark.parametrize(
    ("answer", "missing"),
    [
        ("Kazakhstan has 17.0 million people [1].", ["17.0"]),
        ("About 80% of its oil [1].", []),
        ("It took 7 minutes [1].", []),
        ("It ended in 2018 [2].", []),
        ("On Oct. 13, 2023 [1].", []),
    ],
)
def test_unsupported_numbers(answer: str, missing: list[str]) -> None:
    passages = [
        Passage(
            0, "a.txt", 0, 1, 1.0, "He spent seven minutes. It sends about 80 percent. On Oct. 13,2023, in Bishkek."
        )
    ]
    assert unsupported_numbers(answer, passages, question="What happened in 2018?") == missing


def test_parsed_reply_cited_order() -> None:
    assert ParsedReply("", [], {}).cited == []


def test_quotes_before_the_answer_parse_too() -> None:
    reply = 'Quotes:\n[1] "spent seven minutes reprimanding"\n\nAnswer: Rahmon spoke for seven minutes [1].\n'
    parsed = parse_reply(reply, 2)
    assert parsed.text == "Rahmon spoke for seven minutes [1]."
    assert parsed.quotes == {1: ["spent seven minutes reprimanding"]}


def test_text_after_the_quote_block_is_not_answer() -> None:
    parsed = parse_reply('In 2018 [1].\nQuotes:\n[1] "in 2018"\nNote: passage 2 is unrelated.', 2)
    assert parsed.text == "In 2018 [1]." and parsed.quotes == {1: ["in 2018"]}


def test_claim_no_passage_backs_loses_its_citation() -> None:
    original = _original(DOC_002)
    passages = [_passage_around(DOC_002, "Armenia, after the CSTO refused", before=0, after=300)]
    parsed = parse_reply("The capital of France is Paris [1]. Armenia cancelled the CSTO exercises [1].", 1)
    text, citations = ground(parsed, Evidence(passages, HashEmbedder()), "What happened?")
    assert text == "The capital of France is Paris. Armenia cancelled the CSTO exercises [1]."
    assert len(citations) == 1 and "CSTO refused" in citations[0].quote
    assert original[citations[0].start : citations[0].end] == citations[0].quote


FRANK = (
    "Frank was a prolific author, writing 40 books. He published widely on political economy. "
    "Perhaps his most notable work is Capitalism and Underdevelopment in Latin America. "
    "Published in 1967, it was one of the formative texts in dependency theory."
)
FRANK_QUESTION = "who wrote capitalism and underdevelopment in latin america"


def _frank_passage() -> Passage:
    return Passage(0, "frank.txt", 0, len(FRANK), 1.0, FRANK, original=FRANK)


def test_a_quote_leaning_on_its_neighbour_gets_the_neighbour_as_a_second_quote() -> None:
    parsed = parse_reply('Frank wrote it [1].\nQuotes:\n[1] "Perhaps his most notable work is Capitalism and '
                         'Underdevelopment in Latin America"', 1)
    text, citations = ground(parsed, Evidence([_frank_passage()], HashEmbedder()), FRANK_QUESTION)
    assert text == "Frank wrote it [1]."
    assert [c.method for c in citations] == ["selected", "model"]  # in reading order
    assert citations[0].quote == "Frank was a prolific author, writing 40 books."
    assert all(FRANK[c.start : c.end] == c.quote for c in citations)


def test_no_second_quote_when_the_first_states_the_claim_or_no_sentence_helps() -> None:
    evidence = Evidence([_frank_passage()], HashEmbedder())
    stated = parse_reply('It appeared in 1967 [1].\nQuotes:\n[1] "Published in 1967, it was one of the formative '
                         'texts in dependency theory"', 1)
    assert len(ground(stated, evidence, FRANK_QUESTION)[1]) == 1
    elsewhere = parse_reply('Gunder wrote it in Chile [1].\nQuotes:\n[1] "Perhaps his most notable work is '
                            'Capitalism and Underdevelopment in Latin America"', 1)
    assert len(ground(elsewhere, evidence, FRANK_QUESTION)[1]) == 1  # no sentence names Gunder or Chile
