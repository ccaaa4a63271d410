"""The model's reply format: [n] markers in the answer, quote lines ([n] "..."), refusals, and live display.

A reply is read line by line. 'Quotes:' (or Evidence/Sources) opens a quote block; '[n] "..."' lines
are quotes wherever they stand; 'Answer:' starts answer text. So quotes before or after the answer
both parse, and the displayed answer never shows the quote syntax.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..text import LOOSE_MARKER, tidy_text, MARKER, clean_quote, format_markers, loose_marker_numbers, markers, normalise
from ..types import REFUSAL

_HEADER = re.compile(
    r"^[\s*#_>-]*(quotes?|sources?|evidence|citations?|references?|answer)[\s*_]*(?::|$)[\s*_]*", re.IGNORECASE
)
_QUOTE_LINE = re.compile(r"^[\s*>-]*(?:\[\d{1,3}\]|\d{1,3}[.):])\s*:?\s*[*_]*[\"“„']")
_NUMBERED = re.compile(r"^[\s*>-]*\[?(\d{1,3})(?:\]|[.):])")
# A partial line that may still turn into a header or a quote line: wait for more before showing it.
_UNDECIDED = re.compile(r"[\s*#_>-]*(?:[a-z]{0,10}[\s*_]*|\[?\d{0,3}\]?\s*:?\s*[*_]*)", re.IGNORECASE)
_INLINE_QUOTE = re.compile(r"\[(\d{1,3})\s*:\s*[\"“](.+?)[\"”]\s*\]|\[(\d{1,3})\]\s*\(\s*[\"“](.+?)[\"”]\s*\)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\s\[])")
_SOURCES = r"(?:the\s+)?(?:given\s+|provided\s+)?(?:passages?|documents?|texts?|context|sources?)"
_DECLINE = re.compile(
    rf"\b{_SOURCES}\b[^.]{{0,40}}?\b(?:do(?:es)?\s*n[o']t|not|never)\s+"
    r"(?:say|mention|contain|provide|include|specify|state|give|answer|discuss|address)"
    rf"|\b(?:not|never)\s+(?:mentioned|stated|specified|provided|given|found|included|available|discussed)\s+"
    rf"(?:in|by)\s+{_SOURCES}\b"
    r"|\bthere\s+is\s+(?:no|not\s+enough)\s+(?:information|mention)\b",
    re.IGNORECASE,
)

ANSWER, QUOTE, SKIP = "answer", "quote", "skip"


@dataclass
class Claim:
    """One sentence of the answer (`sentence` as displayed, `text` without markers) and the passages it cites."""

    text: str
    numbers: list[int]
    sentence: str = ""


@dataclass
class ParsedReply:
    """A model reply split into the displayed answer, its claims and the quotes offered per passage number."""

    text: str
    claims: list[Claim]
    quotes: dict[int, list[str]] = field(default_factory=dict)
    dropped: list[int] = field(default_factory=list)

    @property
    def cited(self) -> list[int]:
        """Valid passage numbers in order of first citation."""
        return list(dict.fromkeys(n for claim in self.claims for n in claim.numbers))


# ---------------------------------------------------------------- lines


@dataclass
class LineReader:
    """Classifies reply lines in order: answer text, quote, or other text inside a quote block (skipped)."""

    in_quotes: bool = False
    quotes_seen: int = 0

    def classify(self, line: str) -> tuple[str, str]:
        """(kind, text) for one complete line, updating the block state."""
        kind, text, self.in_quotes, seen = self.peek(line)
        self.quotes_seen += seen
        return kind, text

    def peek(self, line: str) -> tuple[str, str, bool, int]:
        """(kind, text, in_quotes after, quotes found) without changing state."""
        header = _HEADER.match(line)
        if header:
            rest = line[header.end() :]
            if header.group(1).lower() == "answer":
                return ANSWER, rest, False, 0
            return QUOTE, rest, True, int(bool(rest.strip()))
        if _QUOTE_LINE.match(line) or (self.in_quotes and _NUMBERED.match(line)):
            return QUOTE, line, self.in_quotes, 1
        if self.in_quotes:
            if not line.strip():  # a blank line after the quotes closes the block
                return SKIP, line, self.quotes_seen == 0, 0
            return SKIP, line, True, 0
        return ANSWER, line, False, 0


def could_change(line: str) -> bool:
    """Whether a partial line might still become a header or a quote line."""
    return _UNDECIDED.fullmatch(line) is not None


# ---------------------------------------------------------------- parsing


def quotes_in_line(line: str) -> list[tuple[int, str]]:
    """(n, quote) pairs in a quote line: '[1] "..."', '1. "..."' or '[1] "a" [2] "b"'."""
    pieces = MARKER.split(line)
    if len(pieces) == 1:
        numbered = _NUMBERED.match(line)
        pieces = ["", numbered.group(1), line[numbered.end() :]] if numbered else pieces
    pairs = [(int(number), clean_quote(text)) for number, text in zip(pieces[1::2], pieces[2::2])]
    return [(n, quote) for n, quote in pairs if quote]


def split_reply(raw: str) -> tuple[str, dict[int, list[str]]]:
    """(answer text, quotes per passage number) of a raw reply."""
    reader = LineReader()
    answer_lines: list[str] = []
    quotes: dict[int, list[str]] = {}
    for line in raw.strip().splitlines():
        kind, text = reader.classify(line)
        if kind == ANSWER:
            answer_lines.append(text)
        elif kind == QUOTE:
            for n, quote in quotes_in_line(text):
                quotes.setdefault(n, []).append(quote)
    return "\n".join(answer_lines).strip(), quotes


def parse_reply(raw: str, n_passages: int) -> ParsedReply:
    """Displayed text (markers canonical '[1][2]', invalid ones removed), claims, quotes and dropped numbers."""
    answer_text, quotes = split_reply(raw)
    dropped: list[int] = []

    def lift_inline(match: re.Match[str]) -> str:
        number, quote = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        quotes.setdefault(int(number), []).append(clean_quote(quote))
        return f"[{number}]"

    def canonical(match: re.Match[str]) -> str:
        numbers = loose_marker_numbers(match.group(1))
        dropped.extend(n for n in numbers if not 1 <= n <= n_passages)
        return format_markers(n for n in dict.fromkeys(numbers) if 1 <= n <= n_passages)

    text = tidy_text(LOOSE_MARKER.sub(canonical, _INLINE_QUOTE.sub(lift_inline, answer_text)))
    claims = [
        Claim(tidy_text(LOOSE_MARKER.sub("", s)), markers(s), s)
        for s in _SENTENCE_END.split(text)
        if s.strip()
    ]
    valid_quotes = {n: q for n, q in quotes.items() if 1 <= n <= n_passages}
    dropped += [n for n in quotes if n not in valid_quotes and n not in dropped]
    return ParsedReply(text, claims, valid_quotes, list(dict.fromkeys(dropped)))


def is_refusal(text: str) -> bool:
    """Whether a reply contains the REFUSAL sentence (any case, quotes, spacing, with or without the full stop)."""
    folded = normalise(text)
    sentinel = normalise(REFUSAL).rstrip(".")
    return sentinel in folded or sentinel.replace("do not", "don't") in folded


def is_paraphrased_refusal(parsed: ParsedReply) -> bool:
    """Whether every sentence of an answer declines in its own words ('X is not mentioned in the passages [1].')."""
    return bool(parsed.claims) and all(_DECLINE.search(claim.text) for claim in parsed.claims)


# ---------------------------------------------------------------- live display


class ReplyStream:
    """Forwards only the answer text of a streamed reply to `on_token`: quote lines and headers are held back."""

    def __init__(self, on_token: Callable[[str], None] | None):
        self.on_token = on_token
        self.reader = LineReader()
        self.line = ""  # current line, not yet classified
        self.passing = False  # current line is answer text: its tokens go straight through
        self.decided = False  # current line is classified
        self.newlines = 0  # line breaks held until more answer text follows
        self.shown = False

    def feed(self, chunk: str) -> None:
        """Take the next chunk of the reply."""
        if self.on_token is None:
            return
        for piece in re.split(r"(\n)", chunk):
            if piece == "\n":
                self._end_line()
            elif piece:
                self._add(piece)

    def _add(self, piece: str) -> None:
        if self.passing:
            self._show(piece)
            return
        self.line += piece
        if not self.decided:
            self._decide(complete=False)

    def _end_line(self) -> None:
        if not self.decided:
            self._decide(complete=True)
        if self.passing:
            self.newlines += 1
        self.line, self.passing, self.decided = "", False, False

    def _decide(self, complete: bool) -> None:
        """Classify the current line once that is certain; show it if it is answer text."""
        if not complete and not self._certain(self.line):
            return
        kind, text = self.reader.classify(self.line)
        self.decided = True
        if kind == ANSWER:
            self.passing = True
            self._show(text)

    def _certain(self, line: str) -> bool:
        """Whether a partial line's kind can no longer change ('Evidence' may yet be 'Evidence shows ...')."""
        if _QUOTE_LINE.match(line):
            return True
        header = _HEADER.match(line)
        if header:
            return ":" in header.group(0) and (
                header.group(1).lower() != "answer" or bool(line[header.end() :].strip())
            )
        return not could_change(line)

    def _show(self, text: str) -> None:
        """Send text, preceded by held line breaks (none before the first text)."""
        if not self.shown:
            text = text.lstrip()
            self.newlines = 0
        if text:
            self.on_token("\n" * self.newlines + text)  # type: ignore[misc]
            self.newlines = 0
            self.shown = True
