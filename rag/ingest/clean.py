"""Clean noisy scraped text while keeping a map from every cleaned char back to the original."""

from __future__ import annotations

import re

from ..text import token_count
from collections import deque
from itertools import islice

# Invisible characters dropped outright. ZWNJ/ZWJ (U+200C/D) are kept: they change
# spelling in Persian/Indic scripts and join emoji.
_INVISIBLE = "\u200b\u2060\ufeff\u00ad"
# A "token" is a run of visible chars; everything between tokens is whitespace or invisible.
_TOKEN_RE = re.compile(rf"[^\s{_INVISIBLE}]+")
_SPACE_RE = re.compile(r"\s")
_NEWLINE_RE = re.compile(r"\r\n|\r|\n")
_WORD_RE = re.compile(r"\w+")

_SOCIAL = r"(?:facebook|twitter|x|whatsapp|telegram|pinterest|linkedin|reddit|tumblr|viber|messenger|vk|e-?mail|sms)"
# Whole-line (lowercased, trimmed) boilerplate: widgets, labels and section furniture.
_BOILERPLATE_KEYS = {
    "share", "share this", "share this article", "share this story", "share on", "tweet", "print",
    "facebook", "twitter", "whatsapp", "telegram", "pinterest", "linkedin", "reddit", "tumblr",
    "viber", "messenger", "email", "e-mail", "copy link", "spot_img", "more", "menu", "search",
    "home", "advertisement", "sponsored", "skip to content", "spread the love", "comments",
    "leave a comment", "leave a reply", "recent comments", "recent posts", "tags", "follow us",
    "subscribe", "newsletter", "sign in", "sign up", "log in", "login", "loading...",
}
# Headings after which short link titles follow until the next real paragraph.
_RELATED_KEYS = {
    "related posts", "related articles", "related stories", "related news", "related video",
    "related", "read more", "read also", "also read", "you may also like", "you might also like",
    "more stories", "most popular", "most read", "trending", "recommended", "source", "source link",
}
_BOILERPLATE_RE = re.compile(  # matched against a whole short line
    rf"(?:click to )?(?:share|send|post|tweet|pin|e-?mail)(?: (?:it|this|this article|article))?"
    rf"(?: (?:on|to|via|with))? {_SOCIAL}(?: \(opens in new window\))?"
    r"|(?:spot_img)+"
    r"|\(?(?:photo|image|picture|file photo)s? ?(?:by|credit|courtesy(?: of)?)?\s*[:©].{0,80}"
    r"|\(?(?:photo|image|picture)s? (?:by|credit|courtesy)\b.{0,80}"
    r"|getty images|reuters|afp|ap photo|epa|shutterstock|alamy"
)
# Searched inside short lines: cookie banners, newsletter prompts, footers, aggregator notes.
_NOISE_PHRASES = re.compile(
    r"\bwe use cookies\b|\baccept (?:all )?cookies\b|\bcookie (?:policy|settings|preferences|consent)\b"
    r"|\b(?:web)?site uses cookies\b|\b(?:subscribe|sign up) (?:to|for) (?:our|the) (?:free )?(?:daily )?newsletter"
    r"|\ball rights reserved\b|\bfollow us on\b|\bcheck out our social media\b"
    r"|^we want to thank the author\b|^privacy policy\b|^terms of (?:use|service)\b|^copyright ©"
)
# Cheap substring test first: the regex above is slow to run on every line of a big file.
_NOISE_HINTS = ("cookie", "newsletter", "rights reserved", "follow us", "social media", "thank the author",
                "privacy", "terms of", "copyright")
_CREDIT_SOURCES = re.compile(
    r"\b(?:getty images|getty photos|reuters|afp|ap|epa|sputnik|tass|xinhua|bloomberg|shutterstock|alamy|anadolu)$"
)
_TERMINAL = ".!?…:;"
_QUOTES = "\"'”’)]»"


# A YAML front-matter block at the very start of a Markdown/text file: '---' lines around key: value pairs.
FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)


def _squash(line: str) -> str:
    """Line with invisibles removed and all whitespace runs collapsed, trimmed."""
    return " ".join(_TOKEN_RE.findall(line))


def _key(line: str) -> str:
    """Lowercased line without bullets, icons and trailing punctuation, for matching labels."""
    return line.lower().strip(" •·*-–—|:›»>«<#▶►✓").strip()


def _is_credit_line(line: str) -> bool:
    """'Contributor | Getty Images News | Getty Images': short pipe-separated parts ending in an agency."""
    parts = [p.strip().lower() for p in line.split("|")]
    if len(parts) < 2 or any(ch.isdigit() for ch in line) or token_count(line) > 14:
        return False
    return all(0 < token_count(p) <= 5 for p in parts) and bool(_CREDIT_SOURCES.search(parts[-1]))


def is_boilerplate_line(line: str) -> bool:
    """True for a whole line of page furniture (share buttons, crumbs, credits, banners)."""
    key = _key(line)
    if key in _BOILERPLATE_KEYS or key in _RELATED_KEYS:
        return True
    if token_count(key) <= 12 and _BOILERPLATE_RE.fullmatch(key):
        return True
    # Breadcrumbs: "Home > News", or glued by the scraper, "HomeTop StoriesRussia fumes..."
    # (two glued words required, so "HomeKit is ..." stays).
    if re.match(r"Home\s*[>»/›|]|Home[A-Z].*[a-z][A-Z]", line):
        return True
    if token_count(key) <= 30 and any(hint in key for hint in _NOISE_HINTS) and _NOISE_PHRASES.search(key):
        return True
    return _is_credit_line(line)


def _ends_sentence(line: str) -> bool:
    """True when the line ends like a sentence (after any closing quotes or brackets)."""
    stripped = line.rstrip(_QUOTES)
    return bool(stripped) and stripped[-1] in _TERMINAL


def _is_teaser(line: str) -> bool:
    """A feed excerpt cut off with '[…]' or '[...]'."""
    return bool(re.search(r"\[\s*(?:…|\.\.\.)\s*\]$", line))


def _is_real_paragraph(line: str) -> bool:
    """A line that reads as article prose rather than a link title or label."""
    if _is_teaser(line):
        return False
    words = token_count(line)
    return words > 25 or (words >= 8 and _ends_sentence(line))


def _is_headline_like(line: str) -> bool:
    """Short line that does not end like a sentence: a title, heading or link text."""
    return token_count(line) <= 20 and not _ends_sentence(line)


def _is_near_duplicate(words: set[str], seen: list[set[str]]) -> bool:
    """True when `words` overlaps an earlier headline's words by Jaccard >= 0.7."""
    return len(words) >= 3 and any(len(words & s) / len(words | s) >= 0.7 for s in seen)


def _keep_mask(lines: list[str]) -> list[bool]:
    """Decide per squashed line whether it stays; blank lines are never 'kept'."""
    keep = [False] * len(lines)
    in_related = False
    first_headlines: list[set[str]] = []  # the title is usually among these
    recent_headlines: deque[set[str]] = deque(maxlen=40)  # bounded, so many headings stay fast
    for i, line in enumerate(lines):
        if not line:
            continue
        if _key(line) in _RELATED_KEYS:
            in_related = True  # following short link titles belong to the widget
            continue
        if is_boilerplate_line(line):
            continue
        if in_related:
            if not _is_real_paragraph(line):
                continue
            in_related = False
        standalone = (i == 0 or not lines[i - 1]) and (i + 1 == len(lines) or not lines[i + 1])
        if standalone and _is_headline_like(line):
            # Scrapers repeat the title with small variations (share widgets, footers): keep
            # the first. Dropped variants are remembered too, so a chain of variants goes.
            words = set(_WORD_RE.findall(line.lower()))
            duplicate = _is_near_duplicate(words, [*first_headlines, *recent_headlines])
            (first_headlines if len(first_headlines) < 10 else recent_headlines).append(words)
            if duplicate:
                continue
        keep[i] = True
    return keep


def _emit_line(original: str, start: int, end: int, squashed: str, out: list[str], offsets: list[int]) -> None:
    """Append original[start:end] as `squashed` (its cleaned form), recording each char's offset."""
    if end - start == len(squashed):  # fast path: the line was already clean
        out.append(squashed)
        offsets.extend(range(start, end))
        return
    prev_end = -1
    for match in _TOKEN_RE.finditer(original, start, end):
        if prev_end >= 0:
            space = _SPACE_RE.search(original, prev_end, match.start())
            if space:  # one ' ' for the whole run, mapped to its first whitespace char
                out.append(" ")
                offsets.append(space.start())
        out.append(match.group())
        offsets.extend(range(match.start(), match.end()))
        prev_end = match.end()


def _line_spans(original: str) -> list[tuple[int, int]]:
    """(start, end) of each line's contents, excluding its line terminator."""
    spans, start = [], 0
    for m in _NEWLINE_RE.finditer(original):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(original)))
    return spans


def clean_text(original: str) -> tuple[str, list[int]]:
    """Cleaned text and offset_map, where offset_map[i] is the index in `original` of cleaned[i]."""
    spans = _line_spans(original)
    lines = [_squash(original[a:b]) for a, b in spans]
    keep = _keep_mask(lines)
    front = FRONT_MATTER.match(original[:20_000])
    if front:  # metadata (read by dates.front_matter), not text to search, quote or show
        keep = [k and start >= front.end() for k, (start, _) in zip(keep, spans)]
    out: list[str] = []
    offsets: list[int] = []
    prev = -1
    for i, (start, end) in enumerate(spans):
        if not keep[i]:
            continue
        if prev >= 0:
            # Newlines map onto real line terminators: the one after the previous kept line,
            # and (for a paragraph break) the one just before this line.
            out.append("\n")
            offsets.append(spans[prev][1])
            if any(not lines[j] for j in range(prev + 1, i)):
                out.append("\n")
                offsets.append(start - 1)
        _emit_line(original, start, end, lines[i], out, offsets)
        prev = i
    return "".join(out), offsets


def top_lines(text: str, count: int) -> list[str]:
    """The first `count` non-blank lines of `text`, squashed (without scanning the rest)."""
    squashed = (_squash(m.group()) for m in re.finditer(r"[^\r\n]+", text))
    return list(islice((line for line in squashed if line), count))
