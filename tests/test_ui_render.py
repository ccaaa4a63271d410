"""Web UI rendering: quote highlighting by offsets, escaping, [n] links, sources panel, history for follow-ups."""

import html
import re

import pytest

from rag.answer.followup import history_pairs
from rag.ui import render
from rag.types import REFUSAL, Answer, Citation, DocumentRow, Passage

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


def test_card_header_names_title_file_span_and_one_relevance_figure():
    passage = _passage(13, 60, source="news/<evil>.txt", score=0.8123)
    passage.title, passage.scores = "# A <b>title</b>", {"dense": 0.713, "lexical": 4.2}
    head = render.passage_card(4, passage, [], turn=2)
    assert 'id="src-2-4"' in head and 'href="#src-2-4"' in head
    assert "A &lt;b&gt;title&lt;/b&gt;" in head and "# A" not in head  # Markdown '#' dropped, markup escaped
    assert "&lt;evil&gt;.txt" in head and "chars 13–60 of news/&lt;evil&gt;.txt" in head
    assert head.count('class="rag-relevance"') == 1 and "match 0.71" in head
    assert "cosine similarity" in re.search(r'class="rag-relevance" title="([^"]+)"', head).group(1)
    assert 'data-source="news/&lt;evil&gt;.txt" data-start="13" data-end="60"' in head


def test_card_shows_outlet_and_date_when_known():
    passage = _passage(13, 60)
    passage.date, passage.outlet, passage.title = "2023-10-13", "Reuters", "Headline"
    card = render.passage_card(1, passage, [], turn=1)
    meta = _strip_tags(re.search(r'<div class="rag-card-meta">.*?</div>', card).group(0))
    assert meta == "Reuters · 13 Oct 2023 · doc.txt"


def test_open_button_points_at_the_first_verified_quote():
    start = ORIGINAL.index("Armenia")
    card = render.passage_card(1, _passage(start, len(ORIGINAL)), [_cite(1, "the CSTO drills")], 1)
    quote = ORIGINAL.index("the CSTO drills")
    assert f'data-start="{quote}" data-end="{quote + len("the CSTO drills")}"' in card


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
    open_part, _, collapsed = markup.partition("<details")
    assert 'id="src-1-1"' in open_part and _marks(open_part) == ["cancelled</b> the CSTO drills"]
    assert 'id="src-1-2"' in collapsed and 'id="src-1-3"' in collapsed
    assert "2 more retrieved passages, not cited" in collapsed
    assert "Why &lt;did&gt; Armenia" in markup


def test_sources_show_each_passage_from_its_own_original_slice():
    answer = _answer()
    answer.passages[0].original = answer.passages[0].original.replace("Armenia", "ARMENIA")
    markup = render.render_sources(answer, turn=1)
    assert "ARMENIA" in markup and ORIGINAL[:11] not in markup.partition("<details")[0]


def test_format_answer_links_markers_and_reports_status():
    answer = _answer(citations=[_cite(1, "the CSTO drills"), _cite(2, "invented", verified=False)],
                     answer="Drills [1]. Maybe [2].", dropped_citations=[9],
                     standalone_question="What did Kyrgyzstan do?")
    out = render.format_answer(answer, turn=3)
    assert 'href="#src-3-1"' in out and "rag-cite-unverified" in out
    assert "1 source cited" in out and "1 unverified: [2]" in out and "dropped markers: [9]" in out
    assert "searched for: “What did Kyrgyzstan do?”" in out and "2.5 s" in out


def test_format_refusal_says_why_it_declined():
    out = render.format_answer(_answer(answer=REFUSAL, refused=True, citations=[], refusal_reason="unanswerable"), turn=1)
    assert REFUSAL in out and "declined: the judge found no retrieved passage that states the answer" in out


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


def test_document_rows_show_full_clean_titles():
    rows = render.document_rows([DocumentRow(1, "a.txt", date=None, chunks=3, chars=120, title="T" * 100),
                                 DocumentRow(2, "n/b.md", title="#  Steppe   zebras", outlet="Herald",
                                             date="2023-05-04", chunks=1)])
    assert rows == [["T" * 100, "", "", "a.txt", 3, ""], ["Steppe zebras", "Herald", "2023-05-04", "n/b.md", 1, ""]]
    assert render.document_choices([DocumentRow(1, "n/b.md", title="")]) == [("n/b.md", "n/b.md")]


# ---------------------------------------------------------------- claims, progress, news, exports


def _claims_answer() -> Answer:
    from rag.types import ClaimCheck

    claims = [ClaimCheck("Armenia cancelled the drills [1].", [1], support=0.93, supported=True),
              ClaimCheck("Paris expected a reconciliation.", [], supported=False, reason="no quote backs it")]
    return _answer(claims=claims)


def test_each_claim_carries_its_verdict_in_words():
    out = render.format_answer(_claims_answer(), turn=1)
    kept, removed = re.findall(r'<span class="rag-claim[^"]*">(.*?)</span></span>', out)
    assert 'href="#src-1-1"' in kept and ">supported</span>" in kept + "</span>"
    assert "probability 0.93" in kept and "found verbatim in the file" in kept
    assert "<del>Paris expected a reconciliation.</del>" in removed and "removed: no quote backs it" in removed
    assert "1 sentence supported" in out and "1 removed as unsupported" in out and "✓" not in out


def test_a_trimmed_claim_shows_the_kept_part_and_the_cut_clause():
    from rag.types import ClaimCheck

    check = ClaimCheck("Armenia cancelled the drills, and Moscow gained [1].", [1], support=0.8, supported=True,
                       shown="Armenia cancelled the drills [1].", trimmed=["and Moscow gained"])
    out = render.format_answer(_answer(claims=[check]), turn=1)
    assert "Armenia cancelled the drills <a" in out and '<del class="rag-trimmed">and Moscow gained</del>' in out
    assert "clause removed: not in its quote" in out


def test_a_claim_no_judge_checked_says_only_quoted():
    from rag.types import ClaimCheck

    out = render.format_answer(_answer(claims=[ClaimCheck("Drills [1].", [1], supported=True)]), turn=1)
    assert ">quoted</span>" in out and "no judge checked" in out


def test_a_withdrawn_answer_shows_what_was_written_and_why():
    answer = _claims_answer()
    answer.answer, answer.refused, answer.refusal_reason, answer.citations = REFUSAL, True, "unsupported", []
    out = render.format_answer(answer, turn=1)
    assert REFUSAL in out and "What the model wrote, and why it was withdrawn" in out and "<del>" in out


@pytest.mark.parametrize("count, word, expected", [(0, "source", "0 sources"), (1, "source", "1 source"),
                                                   (2, "passage", "2 passages")])
def test_plurals_are_words_not_brackets(count, word, expected):
    assert render.plural(count, word) == expected


def test_progress_shows_finished_steps_with_times_the_current_one_and_the_rest():
    stages = [("searching", 0.0), ("evidence", 0.4), ("writing", 0.5)]
    strip = render.progress_html(stages, elapsed=3.0, evidence=4)
    steps = re.findall(r'<span class="rag-step ([\w-]+)">(.*?)</span>', strip)
    assert steps == [("rag-past", "Searched 0.4 s"), ("rag-past", "4 passages found"), ("rag-now", "Writing… 2.5 s"),
                     ("rag-next", "Checking claims")]
    assert "3.0 s in all" in strip
    stopped = render.progress_html(stages, elapsed=3.2, evidence=1, state="stopped")
    assert "rag-halted" in stopped and "Stopped · 3.2 s in all" in stopped and "1 passage found" in stopped
    assert "Loading the model…" in render.progress_html([("loading", 0.0)], elapsed=1.0)
    assert "Starting…" in render.progress_html([], elapsed=0.0)


def test_evidence_cards_show_the_best_sentence_and_the_document_title():
    evidence = [Citation(2, "doc.txt", 24, 58, ORIGINAL[24:58], True, "retrieved")]
    docs = {"doc.txt": DocumentRow(1, "doc.txt", title="Drills", outlet="Herald", date="2023-01-02")}
    panel = render.render_evidence("Why <x>?", evidence, turn=3, docs=docs)
    assert 'id="src-3-2"' in panel and "rag-early" in panel and "Why &lt;x&gt;?" in panel
    assert _marks(panel) == [ORIGINAL[24:58]] and "Drills" in panel and "Herald" in panel and "2 Jan 2023" in panel
    assert "No passage matches" in render.render_evidence("q", [], 1, {})


def test_disagreements_list_each_value_with_its_quote():
    from rag.types import DisagreeingValue, Disagreement

    a = Citation(1, "a.txt", 0, 10, "42 people died", True, outlet="Herald", date="2023-01-02")
    b = Citation(2, "b.txt", 0, 10, "40 people died", True)
    answer = _answer(disagreements=[Disagreement("number of people", [DisagreeingValue("42 people", a),
                                                                       DisagreeingValue("40 people", b, [a])])])
    box = render.format_answer(answer, turn=2)
    assert "Sources disagree on number of people" in box and 'href="#src-2-1"' in box and 'href="#src-2-2"' in box
    assert "Herald, 2 Jan 2023" in box and "“40 people died”" in box and "also 1 other document" in box


def test_document_view_highlights_the_quote_and_windows_long_documents():
    from rag.ui import cards

    doc = (DocumentRow(1, "d.txt", title="# T"), "x" * 300_000 + "QUOTE" + "y" * 300_000)
    view = cards.document_view(doc, 300_000, 300_005)
    assert _marks(view) == ["QUOTE"] and 'id="rag-doc-quote"' in view and "Showing characters" in view
    assert len(view) < 250_000
    assert "no longer in the index" in cards.document_view(None, 0, 0)


def test_conversation_exports_as_markdown_with_verdicts_quotes_and_sources():
    from rag.ui.export import conversation_markdown

    answer = _claims_answer()
    answer.passages[0].title, answer.passages[0].outlet = "Drills *cancelled*", "Herald"
    markdown = conversation_markdown([answer, _answer(question="Second?", answer=REFUSAL, refused=True,
                                                      citations=[], refusal_reason="unanswerable")], index="idx")
    assert "## 1. Why \\<did\\> Armenia cancel?" in markdown and "## 2. Second?" in markdown
    assert "- *supported (judge 0.93)*: Armenia cancelled the drills [1]." in markdown
    assert "- *removed: no quote backs it*: ~~Paris expected a reconciliation.~~" in markdown
    assert "**[1]** Drills \\*cancelled\\* — Herald — `doc.txt`, characters" in markdown
    assert "> cancelled\\</b\\> the CSTO drills" in markdown and "no retrieved passage that states the answer" in markdown


def test_css_gives_highlights_and_cards_their_own_dark_colours():
    dark = re.search(r"\n\.dark \{(.*?)\}", render.CSS, re.DOTALL).group(1)
    for var in ("--rag-mark-bg", "--rag-mark-fg", "--rag-card-bg", "--rag-border", "--rag-link"):
        assert var in dark
    assert "background: var(--rag-mark-bg); color: var(--rag-mark-fg)" in render.CSS


def test_a_queued_question_says_it_waits_without_a_frozen_clock():
    strip = render.progress_html([("queued", 0.0)], elapsed=0.0)
    assert "Waiting for another question to finish…" in strip and " s<" not in strip and "in all" not in strip
