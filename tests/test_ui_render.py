"""Web UI rendering: quote highlighting by offsets, escaping, [n] links, sources panel, history for follow-ups."""

import html
import re

import pytest

from rag.answer.followup import history_pairs
from rag.ui import render
from rag.types import REFUSAL, Answer, Citation, Passage

ORIGINAL = ("Intro line.\n\nArmenia <b>cancelled</b> the CSTO drills. <script>alert('x')</script> "
            "Then Kyrgyzstan postponed.")


def _passage(start: int, end: int, source: str = "doc.txt", score: float = 0.5) -> Passage:
    text = " ".join(ORIGINAL[start:end].split())
    return Passage(chunk_id=0, source=source, start=start, end=end, score=score, text=text, original=ORIGINAL[start:end])


def _cite(n: int, quote: str, verified: bool = True, source: str = "doc.txt") -> Citation:
    start = ORIGINAL.find(quote) if verified else 0
    return Citation(n=n, source=source, start=start, end=start + len(quote) if verified else 0, quote=quote,
                    verified=verified)


def _marks(markup: str) -> list[str]:
    """Unescaped text of every <mark> element."""
    return [html.unescape(m) for m in re.findall(r"<mark[^>]*>(.*?)</mark>", markup, re.DOTALL)]


def _strip_tags(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


# ---------------------------------------------------------------- highlighting


def test_highlight_marks_exactly_the_span_and_escapes_everything():
    text = "a <script>x</script> b"
    markup = render.highlight(text, [render.Span(2, 10, 1)])
    assert "<script>" not in markup
    assert _marks(markup) == ["<script>"]
    assert _strip_tags(markup) == text


@pytest.mark.parametrize("quote", ["Armenia <b>cancelled</b>", "Then Kyrgyzstan postponed."])
def test_quote_at_either_edge_of_the_passage_is_highlighted_whole(quote):
    start = ORIGINAL.index("Armenia")
    passage = _passage(start, len(ORIGINAL))
    markup = render.passage_card(1, passage, [_cite(1, quote)], turn=1)
    assert _marks(markup) == [quote]
    assert "<b>cancelled</b>" not in markup  # document markup is shown as text


def test_quote_overlapping_the_passage_edge_is_clipped_to_the_passage():
    passage = _passage(ORIGINAL.index("cancelled"), ORIGINAL.index(" Then"))
    spans = render.quote_spans(passage, [_cite(1, "Armenia <b>cancelled</b> the CSTO")])
    assert [(s.start, s.end) for s in spans] == [(0, len("cancelled</b> the CSTO"))]
    markup = render.passage_card(1, passage, [_cite(1, "Armenia <b>cancelled</b> the CSTO")], turn=1)
    assert _marks(markup) == ["cancelled</b> the CSTO"]


def test_quote_offsets_are_relative_to_the_passage_start():
    start = ORIGINAL.index("Armenia")
    passage = _passage(start, len(ORIGINAL))
    citation = _cite(2, "the CSTO drills")
    [span] = render.quote_spans(passage, [citation])
    assert ORIGINAL[passage.start:passage.end][span.start:span.end] == "the CSTO drills"
    assert span.n == 2


def test_unverified_and_other_source_citations_are_not_highlighted():
    passage = _passage(0, len(ORIGINAL))
    other = Citation(1, "other.txt", 0, 5, "Intro", True)
    assert render.quote_spans(passage, [_cite(1, "made up words", verified=False), other]) == []


def test_overlapping_quotes_merge_into_one_mark():
    passage = _passage(0, len(ORIGINAL))
    citations = [_cite(1, "Armenia <b>cancelled"), _cite(1, "cancelled</b> the")]
    markup = render.passage_card(1, passage, citations, 1)
    assert _marks(markup) == ["Armenia <b>cancelled</b> the"]


def test_unverified_quote_is_shown_apart_and_escaped():
    passage = _passage(0, len(ORIGINAL))
    markup = render.passage_card(3, passage, [_cite(3, "<img src=x onerror=alert(1)>", verified=False)], 1)
    assert 'class="quote-unverified"' in markup and "unverified" in markup
    assert "<img" not in markup and "&lt;img src=x" in markup
    assert _marks(markup) == []


def test_verified_quote_outside_the_passage_is_listed_with_its_offsets():
    passage = _passage(0, ORIGINAL.index("Armenia"))
    citation = _cite(1, "Then Kyrgyzstan postponed.")
    markup = render.passage_card(1, passage, [citation], 1)
    assert _marks(markup) == []
    assert f"chars {citation.start}–{citation.end}" in markup


def test_card_falls_back_to_the_indexed_text_when_the_original_is_missing():
    passage = _passage(0, 30)
    passage.original = None
    markup = render.passage_card(1, passage, [_cite(1, "Intro line.")], 1)
    assert "original text unavailable" in markup
    assert passage.text in _strip_tags(markup)


def test_card_header_names_source_span_and_score():
    passage = _passage(13, 60, source="news/<evil>.txt", score=0.8123)
    head = render.passage_card(4, passage, [], turn=2)
    assert 'id="src-2-4"' in head
    assert "news/&lt;evil&gt;.txt" in head and "chars 13–60" in head and "score 0.812" in head


# ---------------------------------------------------------------- answers and the panel


def test_citation_markers_become_links_and_text_is_escaped():
    text = "Yes <b>really</b> [1][2]. Also [3, 1] and [7]."
    out = render.link_citations(text, turn=5, verified={1, 3}, unverified={2})
    assert '<a class="rag-cite" href="#src-5-1"' in out
    assert 'rag-cite-unverified" href="#src-5-2"' in out
    assert '<span class="rag-cite-missing"' in out and "[7]" in out
    assert out.count('href="#src-5-1"') == 2 and 'href="#src-5-3"' in out
    assert "&lt;b&gt;really&lt;/b&gt;" in out


def _answer(**kwargs) -> Answer:
    start = ORIGINAL.index("Armenia")
    then = ORIGINAL.index(" Then")
    passages = [_passage(start, then), _passage(0, start), _passage(then + 1, len(ORIGINAL))]
    base = dict(question="Why <did> Armenia cancel?", answer="Armenia cancelled the drills [1].", refused=False,
                citations=[_cite(1, "cancelled</b> the CSTO drills")], passages=passages, model="fake",
                timings={"total": 2.5})
    base.update(kwargs)
    return Answer(**base)


def test_sources_show_cited_passages_open_and_uncited_collapsed():
    markup = render.render_sources(_answer(), turn=1)
    open_part, _, collapsed = markup.partition("<details>")
    assert 'id="src-1-1"' in open_part and _marks(open_part) == ["cancelled</b> the CSTO drills"]
    assert 'id="src-1-2"' in collapsed and 'id="src-1-3"' in collapsed
    assert "2 more retrieved passage(s)" in collapsed
    assert "Why &lt;did&gt; Armenia" in markup


def test_sources_show_each_passage_from_its_own_original_slice():
    answer = _answer()
    answer.passages[0].original = answer.passages[0].original.replace("Armenia", "ARMENIA")
    markup = render.render_sources(answer, turn=1)
    assert "ARMENIA" in markup and ORIGINAL[:11] not in markup.partition("<details>")[0]


def test_format_answer_links_markers_and_reports_status():
    answer = _answer(citations=[_cite(1, "the CSTO drills"), _cite(2, "invented", verified=False)],
                     answer="Drills [1]. Maybe [2].", dropped_citations=[9],
                     standalone_question="What did Kyrgyzstan do?")
    out = render.format_answer(answer, turn=3)
    assert 'href="#src-3-1"' in out and "rag-cite-unverified" in out
    assert "1 verified source(s)" in out and "1 unverified: [2]" in out and "dropped markers: [9]" in out
    assert "searched for: “What did Kyrgyzstan do?”" in out and "2.5 s" in out


def test_format_refusal_says_why_it_declined():
    out = render.format_answer(_answer(answer=REFUSAL, refused=True, citations=[], refusal_reason="low_score"), turn=1)
    assert REFUSAL in out and "declined: no passage is close enough" in out


def test_panel_keeps_latest_turn_open_and_earlier_turns_collapsed():
    assert "Ask a question" in render.render_panel([])
    panel = render.render_panel(["<p>first</p>", "<p>second</p>", "<p>third</p>"])
    latest, _, rest = panel.partition("<details>")
    assert "third" in latest and "first" not in latest
    assert rest.index("Earlier question 2") < rest.index("Earlier question 1")


def test_streaming_text_is_escaped():
    assert render.streaming_text("a <i>b") == "a &lt;i&gt;b ▌"


# ---------------------------------------------------------------- history and documents


def test_history_pairs_keep_the_last_exchanges_in_order():
    answers = [_answer(question=f"q{i}", answer=f"a{i}") for i in range(5)]
    assert history_pairs(answers, limit=2) == [("q3", "a3"), ("q4", "a4")]
    assert history_pairs([]) == []


def test_history_pairs_feed_the_condense_prompt():
    from rag.answer.prompts import condense_messages

    answers = [_answer(question="Why did Armenia cancel CSTO exercises?",
                       answer="Because the CSTO refused to help [1].")]
    messages = condense_messages(history_pairs(answers), "And what did Kyrgyzstan do?")
    prompt = messages[-1].text
    assert "User: Why did Armenia cancel CSTO exercises?" in prompt
    assert "Assistant: Because the CSTO refused to help [1]." in prompt
    assert "And what did Kyrgyzstan do?" in prompt


def test_document_rows_fill_missing_fields():
    rows = render.document_rows([{"source": "a.txt", "date": None, "chunks": 3, "chars": 120, "title": "T" * 100}])
    assert rows == [["a.txt", "", 3, 120, "T" * 80]]
