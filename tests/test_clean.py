"""Cleaning of the real seed corpus, offset-map properties, dates and titles."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from rag.ingest.clean import clean_text
from rag.ingest.readers import guess_title
from rag.news.dates import extract_date

CORPUS = Path(__file__).parent.parent / "examples" / "corpus"
SEED_DEV = Path(__file__).parent / "data" / "seed_dev.jsonl"
FILES = sorted(CORPUS.glob("*.txt"))


def _clean_file(name: str) -> tuple[str, str, list[int]]:
    """(original, cleaned, offset_map) for one corpus file."""
    original = (CORPUS / name).read_text(encoding="utf-8")
    cleaned, offset_map = clean_text(original)
    return original, cleaned, offset_map


def _squash(text: str) -> str:
    """Whitespace runs to one space, invisibles removed, trimmed."""
    return re.sub(r"\s+", " ", re.sub("[\u200b\u2060\ufeff\u00ad]", "", text)).strip()


def test_corpus_is_present() -> None:
    assert len(FILES) == 5


@pytest.mark.parametrize(
    "name, boilerplate",
    [
        ("000_c616c649b025df99.txt", ["Contributor | Getty Images News | Getty Images",
                                      "Florence Lo | Afp | Getty Images", "Mikhail Klimentyev | by using Reuters",
                                      "Source", "Read More", "World"]),
        ("001_8616b1cfa831146b.txt", ["spot_img", "More", "Contributor | Getty Images News | Getty Images",
                                      "Source link", "RELATED ARTICLES", "Most Popular", "Recent Comments"]),
        ("002_838f15288c1da675.txt", ["Related Posts"]),
        ("003_f61aea6a88730801.txt", ["Spread the love", "send to Telegram", "share on Facebook", "send to Viber",
                                      "send to Messenger", "Related video"]),
        ("004_aaee4ce7cbe7aa07.txt", ["We want to thank the author of this post for this outstanding web content"]),
    ],
)
def test_boilerplate_lines_removed(name: str, boilerplate: list[str]) -> None:
    original, cleaned, _ = _clean_file(name)
    lines = set(cleaned.split("\n"))
    for line in boilerplate:
        assert line in {_squash(x) for x in original.splitlines()}, f"fixture line missing: {line}"
        assert line not in lines


def test_breadcrumbs_teasers_and_repeated_titles_removed() -> None:
    _, cleaned_000, _ = _clean_file("000_c616c649b025df99.txt")
    assert "Companies turn to AI" not in cleaned_000  # related-links teaser after "Source"
    assert "meme coin" not in cleaned_000
    assert cleaned_000.count("As the West courts Russia’s neighbors") == 1  # title repeated in the scrape
    _, cleaned_001, _ = _clean_file("001_8616b1cfa831146b.txt")
    assert "HomeTop Stories" not in cleaned_001
    _, cleaned_003, _ = _clean_file("003_f61aea6a88730801.txt")
    assert "•" not in cleaned_003  # share-widget copies of the title
    assert cleaned_003.startswith("Russia loses to China: Putin's credibility in Central Asia shaken – Reuters\n\n")
    _, cleaned_004, _ = _clean_file("004_aaee4ce7cbe7aa07.txt")
    assert "prress.com" not in cleaned_004
    assert cleaned_004.count("Putin alone, even the former Soviet states") == 1


@pytest.mark.parametrize(
    "name, sentence",
    [
        ("002_838f15288c1da675.txt", "Armenia, after the CSTO refused to help in the armed conflict with Azerbaijan "
                                     "last year (positional battles on the border in September), canceled the "
                                     "organization’s exercises in the country."),
        ("001_8616b1cfa831146b.txt", "Lavrov told the BelTA news agency, in comments published by Russia’s "
                                     "Foreign Ministry."),
        ("001_8616b1cfa831146b.txt", "Wednesday, October 8, 2025"),  # datelines stay
        ("000_c616c649b025df99.txt", "Putin remains confident"),  # section headings stay
        ("003_f61aea6a88730801.txt", "“We want respect. Nothing else. Respect,” Emomali Rahmon said, "
                                     "making Putin nervous."),
        ("003_f61aea6a88730801.txt", "Reuters writes."),  # a sentence naming an agency is not a credit line
        ("004_aaee4ce7cbe7aa07.txt", "The oil"),
    ],
)
def test_article_sentences_kept(name: str, sentence: str) -> None:
    _, cleaned, _ = _clean_file(name)
    assert sentence in cleaned


def test_every_seed_evidence_quote_survives_cleaning_and_maps_back() -> None:
    for line in SEED_DEV.read_text(encoding="utf-8").splitlines():
        for evidence in json.loads(line)["evidence"]:
            original, cleaned, offset_map = _clean_file(evidence["source"])
            start = cleaned.index(evidence["quote"])
            end = start + len(evidence["quote"])
            span = original[offset_map[start] : offset_map[end - 1] + 1]
            assert _squash(span) == evidence["quote"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:3])
def test_whitespace_normalised(path: Path) -> None:
    original, cleaned, _ = _clean_file(path.name)
    if path.name[:3] in {"000", "001"}:
        assert "\u00a0" in original  # the fixture really has NBSPs to normalise
    assert "\u00a0" not in cleaned and "\t" not in cleaned and "\u200b" not in cleaned
    assert "  " not in cleaned and "\n\n\n" not in cleaned
    assert all(line == line.strip() for line in cleaned.split("\n"))
    assert cleaned == cleaned.strip()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:3])
def test_offset_map_points_at_the_same_characters(path: Path) -> None:
    original, cleaned, offset_map = _clean_file(path.name)
    assert len(offset_map) == len(cleaned)
    assert all(a < b for a, b in zip(offset_map, offset_map[1:]))  # strictly increasing
    for char, pos in zip(cleaned, offset_map):
        source = original[pos]
        if char == "\n":
            assert source in "\r\n"
        elif char == " ":
            assert source.isspace()
        else:
            assert source == char


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:3])
def test_random_spans_map_back_to_original(path: Path) -> None:
    original, cleaned, offset_map = _clean_file(path.name)
    rng = random.Random(path.name)
    line_bounds = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", cleaned)]
    for _ in range(300):
        # A span inside one cleaned line equals its original span up to whitespace.
        lo, hi = rng.choice(line_bounds)
        start = rng.randrange(lo, hi)
        end = rng.randrange(start + 1, hi + 1)
        span = original[offset_map[start] : offset_map[end - 1] + 1]
        assert _squash(span) == _squash(cleaned[start:end])
        # Any span: its words appear, in order, in the original span (dropped lines aside).
        start = rng.randrange(len(cleaned))
        end = rng.randrange(start + 1, min(len(cleaned), start + 2000) + 1)
        span_words = iter(_squash(original[offset_map[start] : offset_map[end - 1] + 1]).split(" "))
        assert all(word in span_words for word in _squash(cleaned[start:end]).split(" "))


def test_whitespace_and_invisibles_with_offsets() -> None:
    original = "  Hello\u00a0\u00a0wor\u200bld\t!  \n\n\n\n\tNext\u3000line "
    cleaned, offset_map = clean_text(original)
    assert cleaned == "Hello world !\n\nNext line"
    assert offset_map[5] == original.index("\u00a0")  # the space maps to the first of the run
    assert original[offset_map[cleaned.index("d")]] == "d"
    assert original[offset_map[6] : offset_map[10] + 1] == "wor\u200bld"


def test_crlf_and_single_newlines() -> None:
    original = "First line\r\nsame paragraph\r\n\r\n\r\nNew paragraph\rold mac line"
    cleaned, offset_map = clean_text(original)
    assert cleaned == "First line\nsame paragraph\n\nNew paragraph\nold mac line"
    assert [original[offset_map[i]] for i, c in enumerate(cleaned) if c == "\n"] == ["\r", "\r", "\n", "\r"]


def test_empty_and_blank_input() -> None:
    assert clean_text("") == ("", [])
    assert clean_text(" \n\u00a0\n\t\n") == ("", [])


def test_social_words_in_real_sentences_are_kept() -> None:
    text = "\n\n".join([
        "Share", "Facebook", "Twitter", "WhatsApp", "Email", "Print", "share on Facebook", "Pinterest",
        "He said he would share the letter on Facebook later that day.",
        "Twitter",
        "Shares of the company fell 5% in early trading.",
        "HomeKit support arrived in the spring update",
    ])
    cleaned, _ = clean_text(text)
    assert cleaned == (
        "He said he would share the letter on Facebook later that day.\n\n"
        "Shares of the company fell 5% in early trading.\n\n"
        "HomeKit support arrived in the spring update"
    )


def test_credits_cookies_and_newsletters_removed() -> None:
    text = "\n".join([
        "Photo: John Smith/Reuters",
        "(Photo by Jane Doe/AFP via Getty Images)",
        "Getty Images",
        "We use cookies to improve your experience. Accept all cookies",
        "Subscribe to our newsletter",
        "Home > World > Europe",
        "Revenue | 2023 | 5.1",
        "Alice | Bob",
        "The photo by the river was taken in 1990 and shows the old mill before the fire.",
    ])
    cleaned, _ = clean_text(text)
    assert cleaned.split("\n") == [
        "Revenue | 2023 | 5.1",
        "Alice | Bob",
        "The photo by the river was taken in 1990 and shows the old mill before the fire.",
    ]


def test_related_posts_section_dropped_until_next_real_paragraph() -> None:
    text = (
        "The article ends with this sentence about the summit in Astana.\n\n"
        "Related Posts\n\nPutin visits Kazakhstan\n\nMacron courts Central Asia\n\n"
        "Back to the story: the ministers met again on Friday to discuss trade routes.\n\n"
        "A heading after the story"
    )
    cleaned, _ = clean_text(text)
    assert cleaned == (
        "The article ends with this sentence about the summit in Astana.\n\n"
        "Back to the story: the ministers met again on Friday to discuss trade routes.\n\n"
        "A heading after the story"
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Wednesday, October 8, 2025\nTitle", None),  # a weekday widget above the headline is page chrome
        ("Some title\nOctober 8, 2025", "2025-10-08"),
        ("Title\n\n2025-10-08\n\nBody.", "2025-10-08"),
        ("Title\n8 October 2025", "2025-10-08"),
        ("Title\nPublished: 3rd Feb. 2024 at 10:00", "2024-02-03"),
        ("Title\nUpdated Sept 9, 2023", "2023-09-09"),
        ("Title\n2025-13-45", None),
        ("No date here at all.\nJust text.", None),
        ("Title\nRussian President Vladimir Putin at the Eurasian Economic Summit on Nov. 9, 2022, in Bishkek.", None),
    ],
)
def test_extract_date(text: str, expected: str | None) -> None:
    assert extract_date(text) == expected


def test_extract_date_on_corpus() -> None:
    assert extract_date(_clean_file("001_8616b1cfa831146b.txt")[1]) is None  # the scrape date, above the headline
    assert extract_date(_clean_file("000_c616c649b025df99.txt")[1]) is None  # only caption dates


def test_guess_title() -> None:
    assert guess_title(_clean_file("001_8616b1cfa831146b.txt")[1], "x").startswith("Russia fumes at the West’s")
    assert guess_title("spot_img\nShare\nMonday, May 5, 2025\nThe real title\nBody.", "fb") == "The real title"
    assert guess_title("", "fallback") == "fallback"
    assert guess_title(" ".join(["word"] * 40) + ".", "fallback") == "fallback"  # a paragraph is no title


def test_front_matter_is_metadata_not_text() -> None:
    original = "---\ntitle: Floods\ndate: 2024-03-04\n---\n\n# Floods\n\nThe toll rose to 57 on Monday.\n"
    cleaned, offsets = clean_text(original)
    assert cleaned.startswith("# Floods") and "2024-03-04" not in cleaned
    at = cleaned.index("57")
    assert original[offsets[at] : offsets[at] + 2] == "57"
    assert clean_text("--- not front matter\nText here.\n")[0].startswith("--- not front matter")
