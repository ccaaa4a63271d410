"""Citations: verify the model's quotes against the source, select supporting sentences otherwise.

The program, not the model, owns the quotes. A quote the model gives is accepted only when it is
found in passage n of the ORIGINAL file text, after normalising whitespace, typographic quotes and
dashes, and letter case (safe, because what is shown is always the file's own characters, sliced by
offsets). When the model gives none, or a wrong one, the sentence of passage n that best supports
the claim is selected instead (method="selected"); it is verified by construction. Support is
embedding similarity plus the share of the claim's new words (those not already in the question)
that the sentence contains: embeddings see the shared topic, the new words are the actual fact.
Small models also slip on numbers: when another passage supports a claim clearly better, its
number replaces the model's, and sentences without any [n] are cited when support is strong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .types import Citation, Passage

if TYPE_CHECKING:
    from .embed import Embedder
    from .reply import ParsedReply

MIN_QUOTE_WORDS = 3  # shorter model quotes ("BelTA") prove little: a sentence is selected instead
MAX_QUOTE_CHARS = 400  # selected sentences are cut (at a word) to stay readable
NEAR_TIE = 0.02  # sentences this close to the best score are ranked by word overlap
NOVEL_WEIGHT = 0.2  # weight of the claim's new words (not in the question) in a sentence's support score
SUPPORT_MIN = 0.5  # similarity with a passage sentence that counts as support on its own

_TYPOGRAPHIC = str.maketrans(
    {
        **dict.fromkeys("‘’‚‛′`´", "'"),
        **dict.fromkeys("“”„‟″«»", '"'),
        **dict.fromkeys("‐‑‒–—―−", "-"),
        "‹": "<",
        "›": ">",
        "…": "...",
    }
)
_INVISIBLE = frozenset("\u200b\u2060\ufeff\u00ad")
_BOUNDARY = re.compile(r"([.!?…][\"'”’)\]]*)(\s+)|(\s*\n\s*)")
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Gen|Sen|Rep|Gov|Lt|Col|Jr|Sr|vs|etc|No|Jan|Feb|Mar|Apr|Aug|Sept?|Oct"
    r"|Nov|Dec)|\b[A-Z]|(?:[A-Z]\.)+[A-Z])\.$"
)
_WORD = re.compile(r"\w+")
_STOPWORDS = frozenset(
    "a an the of in on at to for from by with and or but is are was were be been it its this that these those as "
    "what which who whom why how when where did does do has have had not no".split()
)


# ---------------------------------------------------------------- normalisation


def _fold(ch: str) -> str:
    """One character typographically folded and lower-cased (length-changing case maps are skipped)."""
    out = ch.translate(_TYPOGRAPHIC)
    lower = out.lower()
    return lower if len(lower) == len(out) else out


def normalise_with_map(text: str, offset: int = 0) -> tuple[str, list[int]]:
    """`text` with whitespace runs collapsed, invisibles dropped and characters folded; per char, its index + offset."""
    chars: list[str] = []
    index: list[int] = []
    gap = False
    for i, ch in enumerate(text):
        if ch in _INVISIBLE:
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
    """The comparison form of `text` (see normalise_with_map)."""
    return normalise_with_map(text)[0]


# ---------------------------------------------------------------- verification


def clean_quote(text: str) -> str:
    """A quote without the wrapping quotation marks, markdown and trailing punctuation or ellipses."""
    text = text.strip().strip("*_").strip()
    text = re.sub(r"^[:\-–\s]+", "", text)
    if text[:1] in "\"“„'‘":
        closing = max(text.rfind(c) for c in ('"”“' if text[0] in '"“„' else "'’"))
        text = text[1:closing] if closing > 0 else text[1:]
    return text.strip().strip("….").strip().rstrip(",;:").strip()


def verify_quote(quote: str, original: str, start: int, end: int) -> tuple[int, int] | None:
    """Offsets in `original` of `quote` found inside original[start:end] (normalised comparison), else None."""
    needle = normalise(clean_quote(quote))
    if not needle:
        return None
    haystack, index = normalise_with_map(original[start:end], start)
    pos = haystack.find(needle)
    if pos < 0:
        return None
    return index[pos], index[pos + len(needle) - 1] + 1


def word_count(text: str) -> int:
    """Number of words."""
    return len(_WORD.findall(text))


# ---------------------------------------------------------------- sentence selection


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


def content_words(text: str) -> set[str]:
    """Lower-cased words without function words, cut to 5 letters so 'canceled'/'cancelled'/'cancel' match."""
    return {w[:5] for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def word_overlap(query: str, sentence: str) -> float:
    """Share of the query's content words that the sentence contains."""
    wanted = content_words(query)
    return len(wanted & content_words(sentence)) / len(wanted) if wanted else 0.0


@dataclass
class Sentence:
    """A sentence of passage n: offsets into the source's original text."""

    n: int
    source: str
    start: int
    end: int
    text: str


@dataclass
class Scored:
    """A sentence's support for a claim: `score` = similarity + NOVEL_WEIGHT * novel (see Evidence.best)."""

    sentence: Sentence
    similarity: float  # embedding cosine with the claim
    overlap: float  # share of the claim's content words the sentence has
    novel: float  # share of the claim's new words (not in the question) the sentence has

    @property
    def score(self) -> float:
        return self.similarity + NOVEL_WEIGHT * self.novel


class Evidence:
    """The sentences of the passages shown to the model, embedded once, to check and choose quotes."""

    def __init__(
        self, passages: Sequence[Passage], originals: Mapping[str, str | None], embedder: Embedder | None = None
    ):
        self.passages = list(passages)
        self.originals = originals
        self.embedder = embedder
        self.sentences = [s for n, p in enumerate(self.passages, start=1) for s in self._sentences_of(n, p)]
        self._vectors: Any = None

    def _sentences_of(self, n: int, passage: Passage) -> list[Sentence]:
        """Sentences of a passage as the model saw them (lines the cleaner dropped inside the span are skipped)."""
        original = self.originals.get(passage.source)
        if original is None:
            return []
        cleaned = normalise(passage.text)
        spans = [
            s
            for s in sentence_spans(original, passage.start, passage.end)
            if normalise(original[s[0] : s[1]]) in cleaned
        ]
        spans = [s for s in spans if word_count(original[s[0] : s[1]]) >= 4] or spans
        return [Sentence(n, passage.source, a, b, original[a:b]) for a, b in spans]

    def score(self, claim: str, question: str = "", n: int | None = None) -> list[Scored]:
        """Support of every sentence (of passage n, or of all passages) for a claim answering `question`.

        A short claim ('BelTA.') is embedded together with the question; the words it adds to the
        question are its new information, which the supporting sentence should contain.
        """
        chosen = [i for i, s in enumerate(self.sentences) if n is None or s.n == n]
        if not chosen:
            return []
        words = content_words(claim)
        query = claim if len(words) >= 3 else f"{question} {claim}"
        novel = (words - content_words(question)) or words
        similarities = self._similarities(query)
        return [
            Scored(
                self.sentences[i],
                similarities[i] if similarities is not None else 0.0,
                word_overlap(query, self.sentences[i].text),
                _share(novel, self.sentences[i].text),
            )
            for i in chosen
        ]

    def _similarities(self, query: str) -> list[float] | None:
        """Cosine similarity of `query` to every sentence; None without an embedder."""
        if self.embedder is None:
            return None
        import numpy as np

        if self._vectors is None:
            self._vectors = np.asarray(
                self.embedder.embed_documents([" ".join(s.text.split()) for s in self.sentences])
            )
        return [float(x) for x in self._vectors @ np.asarray(self.embedder.embed_query(query))]

    def best(self, claim: str, question: str = "", n: int | None = None) -> Scored | None:
        """The best-supporting sentence: highest score, word overlap deciding near-ties."""
        scored = self.score(claim, question, n)
        if not scored:
            return None
        top = max(s.score for s in scored)
        return max((s for s in scored if s.score >= top - NEAR_TIE), key=lambda s: (s.overlap, s.score))

    def supports(self, claim: str, question: str = "") -> bool:
        """Whether the passages back a claim at all: a sentence similar to it (SUPPORT_MIN), or half its new words
        present somewhere in them. A claim failing both comes from elsewhere (the model's own knowledge)."""
        scored = self.score(claim, question)
        if not scored:
            return True  # nothing to judge by (sources missing from the index)
        if self.embedder is not None and any(s.similarity >= SUPPORT_MIN for s in scored):
            return True
        words = content_words(claim)
        novel = (words - content_words(question)) or words
        return _share(novel, " ".join(p.text for p in self.passages)) >= 0.5

    def verify(self, quote: str, n: int) -> Citation | None:
        """A verified citation if `quote` (long enough) is in passage n."""
        passage = self.passages[n - 1]
        original = self.originals.get(passage.source)
        if original is None or word_count(quote) < MIN_QUOTE_WORDS:
            return None
        span = verify_quote(quote, original, passage.start, passage.end)
        return (
            Citation(n, passage.source, span[0], span[1], original[span[0] : span[1]], True, "model") if span else None
        )

    def find(self, quote: str) -> Citation | None:
        """A verified citation for `quote` in whichever passage holds it."""
        return next((c for n in range(1, len(self.passages) + 1) if (c := self.verify(quote, n))), None)

    def cite(self, scored: Scored, claim: str = "") -> Citation:
        """A 'selected' citation for a chosen sentence (verified: it is copied from the source by offsets)."""
        s = scored.sentence
        original = self.originals[s.source] or ""
        start, end = _window(original, s.start, s.end, content_words(claim))
        return Citation(s.n, s.source, start, end, original[start:end], True, "selected")


def _share(words: set[str], text: str) -> float:
    """Share of `words` found in `text`."""
    return len(words & content_words(text)) / len(words) if words else 0.0


def select_sentence(
    claim: str, original: str, passage: Passage, embedder: Embedder | None = None, question: str = ""
) -> tuple[int, int] | None:
    """Offsets of the sentence of `passage` that best supports `claim` (see Evidence.best)."""
    best = Evidence([passage], {passage.source: original}, embedder).best(claim, question, 1)
    return _window(original, best.sentence.start, best.sentence.end, content_words(claim)) if best else None


_CLAUSE = re.compile(r"[,;:—–]\s+|[”\"]\s+|\s+[—–]\s+")


def _window(original: str, start: int, end: int, words: set[str]) -> tuple[int, int]:
    """A sentence, or for one longer than MAX_QUOTE_CHARS the clause-aligned stretch holding most of `words`."""
    if end - start <= MAX_QUOTE_CHARS:
        return start, end
    starts = [start] + [m.end() for m in _CLAUSE.finditer(original, start, end) if m.end() < end]
    windows = []
    for a in starts:
        b = min(end, a + MAX_QUOTE_CHARS)
        if b < end:
            cut = original.rfind(" ", a, b)
            b = cut if cut > a else b
        windows.append((a, original[a:b].rstrip(" ,;:—–")))
    a, text = max(windows, key=lambda w: (len(words & content_words(w[1])), -w[0]))
    return a, a + len(text)


# ---------------------------------------------------------------- grounding

REASSIGN_MARGIN = 0.1  # another passage must support a claim this much better to take over its citation
_QUOTED = re.compile(r"[\"“]([^\"“”]{8,}?)[\"”]")
_MARKERS = re.compile(r"(?:\s*\[\d+\])+")


def ground(parsed: ParsedReply, evidence: Evidence, question: str = "") -> tuple[str, list[Citation]]:
    """Answer text and citations. A claim with [n]: the model's quotes verified in passage n, else the best sentence
    of passage n, or of a clearly better passage (whose number then replaces the model's). A claim without [n]:
    a passage holding a quote it contains, or a sentence similar enough (SUPPORT_MIN); else it stays uncited.
    A claim that no sentence supports (Evidence.supports) loses its markers and stays uncited."""
    text = parsed.text
    citations: dict[tuple[int, int, int], Citation] = {}
    for claim in parsed.claims:
        offered = [q for n in claim.numbers for q in parsed.quotes.get(n, [])]
        if not evidence.supports(claim.text, question) and not any(evidence.find(q) for q in offered):
            found = []  # e.g. world knowledge ("The capital of France is Paris [3]"): no passage backs it
        elif claim.numbers:
            found = [
                c for n in claim.numbers for c in _support(evidence, claim.text, question, n, parsed.quotes.get(n, []))
            ]
        else:
            found = [c for c in [_unmarked_support(evidence, claim.text, question)] if c]
        for c in found:
            citations.setdefault((c.n, c.start, c.end), c)
        numbers = list(dict.fromkeys(c.n for c in found))
        if numbers != claim.numbers:
            text = text.replace(claim.sentence, _with_markers(claim.sentence, numbers), 1)
    return text, list(citations.values())


def _support(evidence: Evidence, claim: str, question: str, n: int, offered: list[str]) -> list[Citation]:
    """Citations backing a claim that cites passage n."""
    verified = [c for q in offered if (c := evidence.verify(q, n))]
    if verified:
        return verified
    moved = next((c for q in offered if (c := evidence.find(q))), None)  # exact quote, wrong number
    if moved:
        return [moved]
    own, overall = evidence.best(claim, question, n), evidence.best(claim, question)
    if overall and (own is None or _better_elsewhere(overall, own)):
        return [evidence.cite(overall, claim)]
    if own:
        return [evidence.cite(own, claim)]
    passage = evidence.passages[n - 1]  # its document vanished from the index: show the model's quote, unverified
    return [Citation(n, passage.source, passage.start, passage.start, q, False) for q in offered[:1]]


def _better_elsewhere(overall: Scored, own: Scored) -> bool:
    """Whether another passage's sentence supports the claim clearly better (a numbering slip by the model)."""
    if overall.sentence.n == own.sentence.n:
        return False
    return overall.score - own.score >= REASSIGN_MARGIN or (overall.score > own.score and overall.novel > own.novel)


def _unmarked_support(evidence: Evidence, claim: str, question: str) -> Citation | None:
    """For a claim without a marker: a quote it contains found in a passage, else a similar enough sentence."""
    for quote in _QUOTED.findall(claim):
        found = evidence.find(quote)
        if found:
            return found
    best = evidence.best(claim, question) if word_count(claim) >= 3 else None
    if best and evidence.embedder is not None and best.similarity >= SUPPORT_MIN:
        return evidence.cite(best, claim)
    return None


def _with_markers(sentence: str, numbers: list[int]) -> str:
    """The sentence with its markers replaced by `numbers`, placed before its final punctuation."""
    bare = _MARKERS.sub("", sentence).rstrip()
    if not numbers:
        return bare
    markers = "".join(f"[{n}]" for n in numbers)
    match = re.search(r"([.!?][\"'”’)]*)$", bare)
    return f"{bare[: match.start()].rstrip()} {markers}{match.group(1)}" if match else f"{bare} {markers}"


# ---------------------------------------------------------------- numbers

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NUMBER_WORDS = {
    str(i): w
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
} | {"30": "thirty", "40": "forty", "50": "fifty", "100": "hundred"}


def unsupported_numbers(answer: str, passages: Sequence[Passage], question: str = "") -> list[str]:
    """Numbers in the answer (markers aside) that no passage nor the question contains: a sign of invention."""
    haystack = " ".join([question, *(p.text for p in passages)])
    lowered = haystack.lower()
    missing = []
    for number in _NUMBER.findall(re.sub(r"\[\d+\]", " ", answer)):
        if re.search(rf"(?<!\d){re.escape(number)}(?!\d)", haystack):
            continue
        word = _NUMBER_WORDS.get(number)
        if word and re.search(rf"\b{word}\b", lowered):
            continue
        missing.append(number)
    return missing
