"""Text that would only fill the index with noise: no word boundaries, one character repeated, markup without text
(symbols, or Markdown headings with nothing under them).

Each check is linear in the text (C-speed str/regex/zlib calls), so a multi-megabyte file is judged in
well under a second. Texts shorter than MIN_CHARS visible characters are never judged: they cannot hurt.
"""

from __future__ import annotations

import re
from collections import Counter

MIN_CHARS = 2_000
# WordPiece embedders (MiniLM) turn a run of more than 100 letters into one unknown token.
_LETTER_RUN = re.compile(r"[^\W_]{100,}")
# Without any space for 1,000 characters (letters or not), a text has no words to embed or search.
_SPACELESS_RUN = re.compile(r"\S{1000,}")
# Chinese, Japanese and Korean are written without spaces; their long runs are normal text.
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_NOT_ALNUM = re.compile(r"[\W_]+")
_HEADING = re.compile(r"^[ \t]*#{1,6}(?:[ \t]|$)", re.M)  # a Markdown heading line
_LINE = re.compile(r"\S[^\n]*")  # a non-blank line
MIN_HEADINGS = 1_000  # a long document may have hundreds; thousands with nothing under them is an outline dump
MAX_HEADING_SHARE = 0.9  # of the non-blank lines
MOST_COMMON_SHARE = 0.5  # one character making up half of a text
LONG_RUN_SHARE = 0.5  # half of a text in runs without word boundaries
MIN_ALNUM_SHARE = 0.3  # prose is ~80% letters and digits (spaces aside); markup and ASCII art far less


def degenerate_reason(text: str) -> str | None:
    """Why a cleaned text is not worth indexing (one line), or None when it looks like real text."""
    visible = "".join(text.split())
    if len(visible) < MIN_CHARS:
        return None
    for check in (_one_character, _no_word_boundaries, _markup_only, _headings_only):
        if reason := check(text, visible):
            return reason
    return None


def _one_character(text: str, visible: str) -> str | None:
    """'aaaa...': one character is most of the text."""
    char, count = Counter(visible).most_common(1)[0]
    share = count / len(visible)
    return f"one character repeated ({char!r} is {share:.0%} of the text)" if share >= MOST_COMMON_SHARE else None


def _no_word_boundaries(text: str, visible: str) -> str | None:
    """Most of the text sits in runs of letters (or of non-spaces) too long to be words."""
    letters = sum(map(len, _LETTER_RUN.findall(text)))
    if letters / len(visible) >= LONG_RUN_SHARE:
        return f"no word boundaries ({letters / len(visible):.0%} of the text is runs of 100+ letters)"
    runs = _SPACELESS_RUN.findall(text)
    spaceless = sum(map(len, runs))
    sample = "".join(runs)[:10_000]
    if spaceless / len(visible) >= LONG_RUN_SHARE and len(_CJK.findall(sample)) < 0.3 * len(sample):
        share = spaceless / len(visible)
        return f"no word boundaries ({share:.0%} of the text is runs of 1,000+ characters without a space)"
    return None


def _markup_only(text: str, visible: str) -> str | None:
    """'|---|<><>##': symbols with hardly a letter or digit."""
    share = len(_NOT_ALNUM.sub("", visible)) / len(visible)
    return f"markup without text (only {share:.0%} letters or digits)" if share < MIN_ALNUM_SHARE else None



def _headings_only(text: str, visible: str) -> str | None:
    """Thousands of Markdown headings with next to no text under them: structure, nothing to retrieve."""
    headings = len(_HEADING.findall(text))
    if headings < MIN_HEADINGS:
        return None
    share = headings / max(1, len(_LINE.findall(text)))
    if share < MAX_HEADING_SHARE:
        return None
    return f"markup without text ({headings:,} headings, {share:.0%} of the lines)"
