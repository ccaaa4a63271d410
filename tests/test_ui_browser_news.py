"""End to end, news-aware answers in a real browser: dates and outlets on the source cards, the "Sources disagree"
box with both conflicting figures (each with its verified quote, outlet and date) and a receipt that `rag verify`
accepts, then rejects once a cited file changes by one character.

The app runs over an index of a copy of tests/data/news (four outlets, 42 against 57 dead) with the real embedder
and the scripted fake model of tests/ui_fake_server.py in its --news mode (it quotes and cites the best sentence of
each passage that speaks to the question, as a grounded model would). Retrieval, quote verification, the
disagreement finder, the cards and the receipt are all the real code. The screenshot goes to test-output/.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import NEWS, NEWS_META, REPO

# Importing the browser helpers also skips this module, with the same reason, when playwright, gradio or
# /usr/bin/chromium is missing.
from .test_ui_browser import _ask, _check_layout, _clean_env, _end, _open, _serve, _shot

pytestmark = pytest.mark.integration

DEATHS = "How many people have died in the Valdoria floods?"
VIEW = "desktop-light"
# what each side of the disagreement must show: value, outlet, date as the UI writes it, the file its quote is from
SIDES = [("42 people", "Reuters", "2 Mar 2024", "reuters-floods.html", "killed 42 people"),
         ("57 people", "BBC News", "4 Mar 2024", "bbc-floods.md", "risen to 57")]


def _sentence(file: Path, needle: str) -> str:
    """The sentence of a news file (text or HTML) holding `needle`, verbatim as it stands in the file."""
    pieces = re.split(r"<[^>]+>|\n|(?<=\.)\s+", file.read_text(encoding="utf-8"))
    [sentence] = [p.strip() for p in pieces if needle in p]
    return sentence


def _rag(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=REPO, env=_clean_env(), capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def news_app(tmp_path_factory):
    """(url, folder of the indexed copy of tests/data/news): the app with the fake model in its --news mode."""
    folder = tmp_path_factory.mktemp("ui-news")
    data = folder / "news"
    shutil.copytree(NEWS, data)  # the test changes a file of this copy, never tests/data
    meta = folder / NEWS_META.name
    shutil.copy(NEWS_META, meta)  # dates the one undated file
    index = folder / "index"
    done = _rag("index", str(data), "--index", str(index), "--meta", str(meta))
    assert done.returncode == 0, done.stdout + done.stderr
    url, proc = _serve([sys.executable, "-m", "tests.ui_fake_server", "--index", str(index), "--news",
                        "--token-delay", "0.01"], _clean_env())
    try:
        yield url, data
    finally:
        _end(proc)


@pytest.fixture(scope="module")
def asked(news_app, browser):
    """One browser tab that has asked the conflicting-figures question; (page, answer text)."""
    page = _open(browser, news_app[0], VIEW)
    text = _ask(page, DEATHS, turn=1)
    yield page, text
    page.context.close()


def _card(page, file: str):
    """The final source card of a file (not an early evidence card)."""
    return page.locator("#sources article.rag-card:not(.rag-early)").filter(
        has=page.locator(".rag-file", has_text=file))


def test_disagreement_box_shows_both_figures_with_quote_outlet_and_date(asked, news_app):
    page, text = asked
    data = news_app[1]
    assert "42" in text and "57" in text and "2 sources cited" in text and "as of 4 Mar 2024" in text
    box = page.locator("#chat .rag-disagree")
    assert box.count() == 1 and box.is_visible()
    assert box.inner_text().startswith("Sources disagree on number of people:")
    items = box.locator("li")
    assert items.count() == 2  # both values in one box, the earlier report first
    for item, (value, outlet, when, file, needle) in zip(items.all(), SIDES):
        quote = _sentence(data / file, needle)
        shown = " ".join(item.inner_text().split())
        assert item.is_visible() and shown.startswith(value), shown
        assert f"{outlet}, {when}: “{quote}”" in shown, shown  # the verbatim sentence of the file, with who and when
        # its [n] leads to the card of that file, which highlights the same sentence as a verified quote
        card_id = item.locator("a.rag-cite").get_attribute("href").removeprefix("#")
        card = _card(page, file)
        assert card.get_attribute("id") == card_id
        assert card.locator("mark.quote-verified").first.inner_text().strip().rstrip(".") in quote
    # the sources panel repeats the box above the cards
    assert " ".join(page.locator("#sources .rag-disagree").inner_text().split()) == " ".join(box.inner_text().split())
    _check_layout(page, VIEW)
    _shot(page, "news-disagreement")
    page.locator(f'#chat .rag-disagree a.rag-cite[href="#{_card(page, "bbc-floods.md").get_attribute("id")}"]').click()
    page.wait_for_selector("#sources article.rag-card.flash >> text=bbc-floods.md")


def test_source_cards_show_outlet_date_and_file(asked):
    page, _ = asked
    for _, outlet, when, file, _ in SIDES:
        card = _card(page, file)
        assert card.count() == 1 and "rag-cited" in card.get_attribute("class")
        meta = card.locator(".rag-card-meta")
        assert meta.locator(".rag-outlet").inner_text() == outlet
        assert meta.locator("time").inner_text() == when
        assert meta.locator(".rag-file").inner_text() == file
    assert _card(page, "bbc-floods.md").locator(".rag-card-title").inner_text() == "Valdoria floods death toll rises"
    assert "also reported by dailypost-floods.txt" in _card(page, "reuters-floods.html").inner_text()  # a wire copy
    page.locator("#sources details.rag-uncited summary").click()  # the uncited dam story, dated by the sidecar
    herald = _card(page, "herald-dam.txt").locator(".rag-card-meta")
    assert herald.locator(".rag-outlet").inner_text() == "Valdoria Herald"
    assert herald.locator("time").get_attribute("datetime") == "2023-06-10"
    assert herald.locator("time").inner_text() == "10 Jun 2023"


def test_receipt_download_verifies_and_a_changed_source_fails(asked, news_app, tmp_path):
    page, _ = asked
    data = news_app[1]
    with page.expect_download() as download:
        page.click("#receipt")
    receipt = tmp_path / "receipt.json"
    download.value.save_as(receipt)
    body = json.loads(receipt.read_text(encoding="utf-8"))
    assert body["question"] == DEATHS
    assert {q["source"] for q in body["quotes"]} == {"bbc-floods.md", "reuters-floods.html"}
    [disagreement] = body["disagreements"]
    sides = {v["value"]: v["quotes"][0] for v in disagreement["values"]}
    for value, outlet, _, file, needle in SIDES:
        q = sides[value]
        assert (q["source"], q["outlet"], q["verified"]) == (file, outlet, True) and needle in q["quote"]
        assert Path(q["path"]) == data / file and q["sha256"]
    ok = _rag("verify", str(receipt))
    assert ok.returncode == 0 and ok.stdout.startswith("ok: "), ok.stdout + ok.stderr
    cited = data / "bbc-floods.md"
    original = cited.read_bytes()
    try:
        cited.write_bytes(original.replace(b"risen to 57", b"risen to 58", 1))  # one character
        changed = _rag("verify", str(receipt))
    finally:
        cited.write_bytes(original)
    assert changed.returncode != 0 and "bbc-floods.md: file changed" in changed.stdout, changed.stdout + changed.stderr
    assert re.search(r'bbc-floods\.md: quote \[\d+\] "The number of people killed.*no longer in the file', changed.stdout)
    assert "reuters-floods.html" not in changed.stdout  # only the changed file is named


def _dot_left(dot) -> float:
    return float(re.search(r"left:\s*([\d.]+)%", dot.get_attribute("style"))[1])


def test_timeline_places_sources_on_a_date_axis_with_as_of_marked(asked):
    page, _ = asked
    timeline = page.locator("#sources .rag-timeline").first
    assert timeline.is_visible()
    dots = {d.get_attribute("data-date"): d for d in timeline.locator(".rag-tl-dot").all()}
    assert set(dots) == {"2023-06-10", "2024-03-02", "2024-03-04"}  # the dam story, the wire report, the BBC update
    assert "rag-tl-retrieved" in dots["2023-06-10"].get_attribute("class")  # retrieved, not cited
    for day in ("2024-03-02", "2024-03-04"):
        assert "rag-tl-cited" in dots[day].get_attribute("class")
    assert _dot_left(dots["2023-06-10"]) < _dot_left(dots["2024-03-02"]) < _dot_left(dots["2024-03-04"])
    assert "as of 4 Mar 2024" in timeline.locator(".rag-tl-asof").inner_text()
    _check_layout(page, VIEW)
    _shot(page, "news-timeline")
    dots["2024-03-04"].click()  # a dot leads to its card
    page.wait_for_selector("#sources article.rag-card.flash >> text=bbc-floods.md")


def test_as_of_box_hides_later_reports_and_the_answer_says_its_date(news_app, browser):
    page = _open(browser, news_app[0], VIEW)
    try:
        page.fill("#as-of input, #as-of textarea", "2024-03-03")
        text = _ask(page, DEATHS, turn=1)
        assert "as of 3 Mar 2024" in text and "newest source 2 Mar 2024" in text
        assert _card(page, "bbc-floods.md").count() == 0  # published on 4 March, after the question's day
        dates = [d.get_attribute("data-date") for d in page.locator("#sources .rag-tl-dot").all()]
        assert dates and max(dates) <= "2024-03-03"
        assert "as of 3 Mar 2024" in page.locator("#sources .rag-tl-asof").first.inner_text()
    finally:
        page.context.close()
