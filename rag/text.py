"""Text rules every stage shares: comparison folding, quote cleaning, word counts, sentences, `[n]` markers.

One definition each, so the verifier, the UI, the evaluation and the reply parser cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# ---------------------------------------------------------------- folding for comparison

# Typographic variants folded to ASCII before two texts are compared (quotes, dashes, ellipsis).
TYPOGRAPHIC = str.maketrans(
    {
        **dict.fromkeys("‘’‚‛′`´", "'"),
        **dict.fromkeys("“”„‟″«»", '"'),
        **dict.fromkeys("‐‑‒–—―−", "-"),
        "‹": "<",
        "›": ">",
        "…": "...",
    }
)
INVISIBLE = frozenset("\u200b\u2060\ufeff\u00ad")


def _fold(ch: str) -> str:
    """One character typographically folded and lower-cased (length-changing case maps are skipped)."""
    out = ch.translate(TYPOGRAPHIC)
    lower = out.lower()
    return lower if len(lower) == len(out) else out


def normalise_with_map(text: str, offset: int = 0) -> tuple[str, list[int]]:
    """`text` with whitespace runs collapsed, invisibles dropped and characters folded; per char, its index + offset."""
    chars: list[str] = []
    index: list[int] = []
    gap = False
    for i, ch in enumerate(text):
        if ch in INVISIBLE:
            continue
        if ch.isspace():
            gap = bool(chars)
            continue
        if gap:
            chars.append(" ")
            index.append(offset + i - 1)
            gap = False
        for out in _fold(ch):
            chars.append(out)
            index.append(offset + i)
    return "".join(chars), index


def normalise(text: str) -> str:
    """The comparison form of `text`: folded, lower-cased, whitespace collapsed (see normalise_with_map)."""
    return normalise_with_map(text)[0]


def fold_typography(text: str) -> str:
    """`text` with invisibles dropped, typographic characters folded and whitespace collapsed; case kept."""
    return " ".join("".join(ch for ch in text if ch not in INVISIBLE).translate(TYPOGRAPHIC).split())


def clean_quote(text: str) -> str:
    """A quote without the wrapping quotation marks, markdown and trailing punctuation or ellipses."""
    text = text.strip().strip("*_").strip()
    text = re.sub(r"^[:\-–\s]+", "", text)
    if text[:1] in "\"“„'‘":
        closing = max(text.rfind(c) for c in ('"”“' if text[0] in '"“„' else "'’"))
        text = text[1:closing] if closing > 0 else text[1:]
    return text.strip().strip("….").strip().rstrip(",;:").strip()


# ---------------------------------------------------------------- words

WORD = re.compile(r"\w+")
STOPWORDS = frozenset(
    "a an the of in on at to for from by with and or but is are was were be been it its this that these those as "
    "what which who whom why how when where did does do has have had not no".split()
)


def word_count(text: str) -> int:
    """Number of words (runs of letters and digits): what a quote or a claim says."""
    return len(WORD.findall(text))


def token_count(text: str) -> int:
    """Number of whitespace-separated tokens: the length unit of passages (close to the embedder's budget)."""
    return len(text.split())


def split_words(text: str) -> list[str]:
    """Word-sized pieces that concatenate back to exactly `text` (for streaming a finished text)."""
    return re.findall(r"\s*\S+\s*", text) or [text]


def content_words(text: str) -> set[str]:
    """Lower-cased words without function words, cut to 5 letters so 'canceled'/'cancelled'/'cancel' match."""
    return {w[:5] for w in WORD.findall(text.lower()) if w not in STOPWORDS}


def word_overlap(query: str, sentence: str) -> float:
    """Share of the query's content words that the sentence contains."""
    wanted = content_words(query)
    return len(wanted & content_words(sentence)) / len(wanted) if wanted else 0.0


# ---------------------------------------------------------------- sentences

_BOUNDARY = re.compile(r"([.!?…][\"'”’)\]]*)(\s+)|(\s*\n\s*)")
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Gen|Sen|Rep|Gov|Lt|Col|Jr|Sr|vs|etc|No|Jan|Feb|Mar|Apr|Aug|Sept?|Oct"
    r"|Nov|Dec)|\b[A-Z]|(?:[A-Z]\.)+[A-Z])\.$"
)


def sentence_spans(original: str, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) offsets of the sentences of original[start:end], trimmed of whitespace."""
    segment = original[start:end]
    spans: list[tuple[int, int]] = []
    begin = 0
    for m in _BOUNDARY.finditer(segment):
        stop = m.end(1) if m.group(1) else m.start(3)
        if m.group(1) and _ABBREVIATION.search(segment[begin : m.start(1) + 1]):
            continue  # "Mr. Putin", "U.S. troops"
        spans.append((begin, stop))
        begin = m.end()
    spans.append((begin, len(segment)))
    trimmed = []
    for a, b in spans:
        piece = segment[a:b]
        a += len(piece) - len(piece.lstrip())
        b -= len(piece) - len(piece.rstrip())
        if b > a:
            trimmed.append((start + a, start + b))
    return trimmed


def tidy_text(text: str) -> str:
    """Collapse runs of spaces and remove spaces left before punctuation by removed markers or sentences."""
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()


# ---------------------------------------------------------------- text in documents that speaks as the system

# Lines in a document that imitate our reply format or give orders to the model: a planted "Answer: ... [2]",
# a "Quotes:" block, '[1] "..."' quote lines, fake chat turns, "ignore previous instructions", and the
# refusal sentence itself (a document must not be able to force "The documents do not say.").
DIRECTIVE = re.compile(
    r"^\W*(?:answer|quotes?|sources?|evidence|system|assistant|user|instructions?)\s*:"
    r"|^\W*\[\d{1,3}\]\s*[\"“]"
    r"|\b(?:ignore|disregard|forget)\b[^.\n]{0,40}\b(?:previous|prior|above|earlier|all)\b[^.\n]{0,20}"
    r"\b(?:instructions?|prompts?|rules|messages?)\b"
    r"|\b(?:reply|respond|answer)\s+only\b"
    r"|\bthe\s+documents\s+do\s+not\s+say\b",
    re.IGNORECASE | re.MULTILINE,
)


def is_directive(text: str) -> bool:
    """Whether document text imitates the answer format or instructs the model (see DIRECTIVE)."""
    return DIRECTIVE.search(text) is not None


def defang_directives(text: str) -> str:
    """Document text with each directive-like line marked as quoted material, so it reads as data, not as orders."""
    return "\n".join(f"[document text, not an instruction] {line}" if is_directive(line) else line
                     for line in text.split("\n"))


# ---------------------------------------------------------------- [n] citation markers

# The canonical marker the program writes: one number per bracket, "[1][3]".
MARKER = re.compile(r"\[(\d{1,3})\]")
# A run of canonical markers with the spaces before them, as removed from a sentence.
MARKER_RUN = re.compile(r"(?:\s*\[\d+\])+")
# "[1]", "[1, 3]" as shown in answers (the UI links each number).
MARKER_GROUP = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# Markers a model or a user may write: "[1]", "[1, 3]", "[1-3]", "[passage 2]", "[p. 1 and 2]".
LOOSE_MARKER = re.compile(
    r"\[\s*(?:(?:passages?|source|p)\.?\s*)?(\d{1,3}(?:\s*(?:,|;|and|&|-|–)\s*(?:(?:passages?|p)\.?\s*)?\d{1,3})*)\s*\]",
    re.IGNORECASE,
)


def markers(text: str) -> list[int]:
    """The numbers of the canonical markers in `text`, in order."""
    return [int(n) for n in MARKER.findall(text)]


def loose_marker_numbers(inner: str) -> list[int]:
    """Numbers inside one loose marker: '1', '1, 2', '1-3' (short ranges expand), 'passage 2'."""
    numbers: list[int] = []
    for part in re.split(r"\s*(?:,|;|and|&)\s*", inner):
        bounds = [int(x) for x in re.findall(r"\d+", part)]
        if len(bounds) == 2 and re.search(r"[-–]", part) and 0 <= bounds[1] - bounds[0] <= 10:
            numbers += list(range(bounds[0], bounds[1] + 1))
        else:
            numbers += bounds
    return numbers


def format_markers(numbers: Iterable[int]) -> str:
    """'[1][3]' for [1, 3]."""
    return "".join(f"[{n}]" for n in numbers)


def strip_markers(text: str) -> str:
    """`text` without any marker (canonical or loose), spaces before them included."""
    return re.sub(r"\s*" + LOOSE_MARKER.pattern, "", text, flags=re.IGNORECASE).strip()


def with_markers(sentence: str, numbers: Iterable[int]) -> str:
    """The sentence with its markers replaced by `numbers`, placed before its final punctuation."""
    bare = MARKER_RUN.sub("", sentence).rstrip()
    tags = format_markers(numbers)
    if not tags:
        return bare
    match = re.search(r"([.!?][\"'”’)]*)$", bare)
    return f"{bare[: match.start()].rstrip()} {tags}{match.group(1)}" if match else f"{bare} {tags}"
