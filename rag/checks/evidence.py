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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..guard.flags import overlapping
from ..text import (
    clean_quote,
    content_words,
    is_directive,
    normalise,
    normalise_with_map,
    sentence_spans,
    word_count,
    word_overlap,
)
from ..types import Citation, Passage

if TYPE_CHECKING:
    from ..index.embed import Embedder

MIN_QUOTE_WORDS = 3  # shorter model quotes ("BelTA") prove little: a sentence is selected instead
MAX_QUOTE_CHARS = 400  # selected sentences are cut (at a word) to stay readable
NEAR_TIE = 0.02  # sentences this close to the best score are ranked by word overlap
NOVEL_WEIGHT = 0.2  # weight of the claim's new words (not in the question) in a sentence's support score
SUPPORT_MIN = 0.5  # similarity with a passage sentence that counts as support on its own
MIN_COVERAGE = 0.34  # share of a claim's new words its quotes must contain (stems; question words excepted)

# ---------------------------------------------------------------- verification


def verify_quote(quote: str, text: str, offset: int = 0) -> tuple[int, int] | None:
    """Offsets (+ `offset`) of `quote` found in `text` by the normalised comparison, else None."""
    needle = normalise(clean_quote(quote))
    if not needle:
        return None
    haystack, index = normalise_with_map(text, offset)
    pos = haystack.find(needle)
    if pos < 0:
        return None
    return index[pos], index[pos + len(needle) - 1] + 1


# ---------------------------------------------------------------- sentence selection


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

    def __init__(self, passages: Sequence[Passage], embedder: Embedder | None = None):
        self.passages = list(passages)
        self.embedder = embedder
        self.sentences = [s for n, p in enumerate(self.passages, start=1) for s in self._sentences_of(n, p)]
        self._vectors: Any = None

    def _sentences_of(self, n: int, passage: Passage) -> list[Sentence]:
        """Sentences of a passage as the model saw them (lines the cleaner dropped inside the span are skipped)."""
        original = passage.original
        if original is None:
            return []
        cleaned = normalise(passage.text)
        spans = [s for s in sentence_spans(original, 0, len(original)) if normalise(original[s[0] : s[1]]) in cleaned]
        spans = [s for s in spans if word_count(original[s[0] : s[1]]) >= 4] or spans
        # A line that speaks as the system (a planted "Answer: ... [2]") is never evidence for a claim, nor is text
        # flagged when the document was read as written to steer the assistant.
        at = passage.start  # sentence offsets are relative to the passage; citations use the file's
        spans = [s for s in spans if not is_directive(original[s[0] : s[1]])
                 and not overlapping(passage.flags, at + s[0], at + s[1])]
        return [Sentence(n, passage.source, at + a, at + b, original[a:b]) for a, b in spans]

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
        if passage.original is None or word_count(quote) < MIN_QUOTE_WORDS:
            return None
        span = verify_quote(quote, passage.original, passage.start)
        if span and (_in_directive_line(passage, *span) or overlapping(passage.flags, *span)):
            return None  # the model quoted a planted line or flagged text: not a quote that backs anything
        return Citation(n, passage.source, *span, passage.original_slice(*span), True, "model") if span else None

    def preview(self, question: str) -> list[Citation]:
        """Before any answer: the sentence of each passage that best matches the question, verified by offsets."""
        found = []
        for n in range(1, len(self.passages) + 1):
            best = self.best(question, question, n)
            if best is not None:
                citation = self.cite(best, question)
                citation.method = "retrieved"
                found.append(citation)
        return found

    def context(self, claim: str, question: str, n: int, cited: Sequence[Citation]) -> Citation | None:
        """A second sentence of passage n for a claim its quotes only half state, or None.

        A quote often leans on its neighbour: "Perhaps his most notable work is X" says who wrote X only
        with "Frank was a prolific author" before it. When the quotes hold under MIN_COVERAGE of the
        claim's new words, the sentence of passage n holding the most of the missing ones is added, if
        the two together reach it; the judge then reads both. Nothing is added otherwise.
        """
        quotes = " ".join(c.quote for c in cited)
        if coverage(claim, quotes, question) >= MIN_COVERAGE:
            return None
        missing = content_words(claim) - content_words(question) - content_words(quotes)
        options = [s for s in self.sentences if s.n == n and not any(s.start < c.end and c.start < s.end for c in cited)]
        best = max(options, key=lambda s: _share(missing, s.text), default=None)
        if best is None or coverage(claim, f"{quotes} {best.text}", question) < MIN_COVERAGE:
            return None
        return self.cite(Scored(best, 0.0, 0.0, 0.0), claim)  # cite reads only the sentence

    def find(self, quote: str) -> Citation | None:
        """A verified citation for `quote` in whichever passage holds it."""
        return next((c for n in range(1, len(self.passages) + 1) if (c := self.verify(quote, n))), None)

    def cite(self, scored: Scored, claim: str = "") -> Citation:
        """A 'selected' citation for a chosen sentence (verified: it is copied from the source by offsets)."""
        s = scored.sentence
        passage = self.passages[s.n - 1]
        at = passage.start
        start, end = _window(passage.original or "", s.start - at, s.end - at, content_words(claim))
        return Citation(s.n, s.source, at + start, at + end, passage.original_slice(at + start, at + end), True, "selected")


def value_citations(quoted: list[tuple[Sentence, str]], evidence: Evidence) -> tuple[Citation, list[Citation]]:
    """(the quote for a value, quotes of further documents giving it), each sentence cut from its file by offsets
    (for a long one, the stretch best matching its claim), with date and outlet; the earliest report first."""
    quotes = []
    for sentence, claim in quoted:
        citation = evidence.cite(Scored(sentence, 0.0, 0.0, 0.0), claim)
        citation.method = "retrieved"
        passage = evidence.passages[sentence.n - 1]
        citation.date, citation.outlet = passage.date, passage.outlet
        quotes.append(citation)
    quotes.sort(key=lambda q: q.date or "9999")
    return quotes[0], quotes[1:]


def _in_directive_line(passage: Passage, start: int, end: int) -> bool:
    """Whether the sentences of the passage holding [start, end) speak as the system ("Answer: ...", '[2] "..."',
    "ignore previous instructions"). Sentences, not the whole line: a true sentence beside a planted one on the
    same line stays quotable."""
    text, at = passage.original or "", passage.start
    line_start = text.rfind("\n", 0, start - at) + 1
    line_end = text.find("\n", end - at)
    spans = sentence_spans(text, line_start, line_end if line_end >= 0 else len(text))
    return any(is_directive(text[a:b]) for a, b in spans if a < end - at and start - at < b)


def coverage(claim: str, quotes: str, question: str = "") -> float:
    """Share of the claim's new content words (not in the question) that the quotes contain."""
    new = content_words(claim) - content_words(question)
    return len(new & content_words(quotes)) / len(new) if new else 1.0


def _share(words: set[str], text: str) -> float:
    """Share of `words` found in `text`."""
    return len(words & content_words(text)) / len(words) if words else 0.0


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
