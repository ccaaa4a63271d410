"""Plain data types shared by ingestion, indexing, retrieval and answering."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


@dataclass
class Document:
    """One ingested document.

    `original` is the text as read from the file (decoded; for pdf/html/docx the
    extracted text). `text` is the cleaned text used for chunking and shown to the
    LLM. `offset_map[i]` is the index in `original` of `text[i]`, so any span of
    `text` maps back to a verifiable span of `original`.
    """

    source: str  # display name: path relative to the indexed folder, or the file name
    original: str
    text: str
    offset_map: list[int]
    title: str = ""
    content_hash: str = ""
    date: str | None = None  # ISO publication date (YYYY-MM-DD) when it can be known
    metadata: dict[str, Any] = field(default_factory=dict)  # "date_note": why the date is what it is (or none)
    path: str = ""  # absolute file path when the document came from a file
    date_source: str = "none"  # where `date` came from: html-meta, dateline, front-matter, sidecar, user, none
    outlet: str | None = None  # publisher (site or agency) when it can be known
    url: str | None = None  # the article's address, from the page or a sidecar file

    @property
    def key(self) -> str:
        """Identity of the document in an index: its file path, else its source name."""
        return self.path or self.source

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of cleaned `text` to a span of `original`."""
        if end <= start:
            pos = self.offset_map[start] if start < len(self.offset_map) else len(self.original)
            return pos, pos
        return self.offset_map[start], self.offset_map[end - 1] + 1


@dataclass
class Chunk:
    """A passage of a document; `start`/`end` are offsets into the document's cleaned text."""

    doc_id: int
    ordinal: int
    text: str
    start: int
    end: int
    id: int | None = None


@dataclass(frozen=True)
class DocumentRow:
    """One indexed document as listings show it (`rag docs`, the UI's documents tab, the API, receipts): the same
    fields from every store backend, built by rag/index/rows.py's `document_row`."""

    id: int  # the store's own document id (only the store that handed it out reads it)
    source: str
    path: str = ""  # the file's real path ("" for a document not read from a file)
    title: str = ""
    date: str | None = None
    content_hash: str = ""  # sha256 of the file's bytes
    chunks: int = 0  # passages
    chars: int = 0  # characters of the original text
    date_source: str = "none"  # where `date` came from (see Document.date_source)
    outlet: str | None = None
    url: str | None = None
    date_note: str | None = None  # why the date is what it is, or why there is none
    wire: str | None = None  # a wire agency the text credits
    flags: list[dict[str, Any]] = field(default_factory=list)  # text written to steer the assistant (rag/guard/flags.py)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (`rag docs --json`, the API)."""
        return asdict(self)


@dataclass
class Passage:
    """A retrieved passage as every front end shows it.

    `start`/`end` are character offsets into the source's original text, so
    `original[start:end]` is the passage as it stands in the file.
    """

    chunk_id: int
    source: str
    start: int
    end: int
    score: float
    text: str
    title: str = ""
    date: str | None = None
    doc_id: int | None = None
    scores: dict[str, float] = field(default_factory=dict)  # per-retriever scores (dense, lexical, fused, rerank)
    duplicates: list[str] = field(default_factory=list)  # sources of near-duplicate passages collapsed into this one
    original: str | None = None  # original[start:end] of the source, filled by the store; None if the file is gone
    date_source: str | None = None  # provenance of `date` (html-meta, dateline, front-matter, sidecar, user, none)
    outlet: str | None = None  # the document's publisher, when known
    url: str | None = None
    origin: str | None = None  # who first reported it: a credited wire agency ("(Reuters) -"), else the outlet
    duplicate_keys: list[str] = field(default_factory=list)  # independence keys of the collapsed duplicates
    # Its document's flags (rag/guard/flags.py) that lie in this passage, and those without a span (hidden text
    # that never reached the indexed text): flagged text is never shown to the model nor quoted.
    flags: list[dict[str, Any]] = field(default_factory=list)

    def original_slice(self, start: int, end: int) -> str:
        """The source's original text at file offsets [start, end), which must lie inside this passage."""
        if self.original is None or not self.start <= start <= end <= self.end:
            raise ValueError(f"span {start}-{end} is outside passage {self.start}-{self.end} of {self.source}")
        return self.original[start - self.start : end - self.start]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class Skipped:
    """A file that was not ingested, and why."""

    source: str
    reason: str


# The fixed sentence the assistant gives when the documents do not answer; tests and the
# evaluation detect refusals by it, so prompts and code must use this constant.
REFUSAL = "The documents do not say."


class RefusalReason(str, Enum):
    """Why an answer was declined (Answer.refusal_reason); `wording` is what every front end shows."""

    NO_PASSAGES = "no_passages"  # nothing retrieved
    MODEL = "model"  # the model replied with the REFUSAL sentence, or declined in its own words
    NO_CITATION = "no_citation"  # no sentence of the answer is backed by a passage
    UNSUPPORTED = "unsupported"  # no sentence of the answer is supported by its quote (claim check)
    UNANSWERABLE = "unanswerable"  # the judge found no retrieved passage that states the answer: the model was not asked

    @property
    def wording(self) -> str:
        """One line for users: why the assistant declined."""
        return _REFUSAL_WORDING[self]


_REFUSAL_WORDING = {
    RefusalReason.NO_PASSAGES: "declined: nothing in the index matches",
    RefusalReason.MODEL: "declined by the model: the passages do not answer this",
    RefusalReason.NO_CITATION: "declined: no passage supports the model's answer, so it was withdrawn",
    RefusalReason.UNSUPPORTED: "declined: no sentence of the model's answer is supported by its quote, so it was withdrawn",
    RefusalReason.UNANSWERABLE: "declined: the judge found no retrieved passage that states the answer "
                                "(the model was not asked)",
}


@dataclass
class Citation:
    """A `[n]` marker in an answer, with the quote that backs it.

    `start`/`end` are offsets into the source's original text; `verified` is True only
    when `quote` was found verbatim (modulo whitespace and typographic quotes) there.
    """

    n: int
    source: str
    start: int
    end: int
    quote: str
    verified: bool
    # "model": quote given by the LLM and verified; "selected": chosen by the program to back a claim;
    # "retrieved": the sentence best matching the question, shown before the answer (evidence first)
    method: str = "model"
    date: str | None = None  # the cited document's publication date and publisher (filled from its passage)
    outlet: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class ClaimCheck:
    """One sentence of the answer and the verdict on it (shown by the UI and in --json)."""

    sentence: str  # as displayed, with its [n] markers
    citations: list[int] = field(default_factory=list)
    support: float | None = None  # the judge's probability that the quotes support the sentence
    supported: bool = False
    reason: str = ""  # why it was removed: "no quote", "not supported by its quote", "names X not in its quote"
    shown: str = ""  # the sentence as displayed: itself, or without the clauses its quotes do not mention
    trimmed: list[str] = field(default_factory=list)  # clauses cut from the sentence, unsupported by its quotes
    sources: int = 0  # independent sources behind its citations (outlets; near-duplicate and wire copies count once)
    single_source: bool = False  # True when exactly one independent source backs it

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class DisagreeingValue:
    """One value the sources give (e.g. "42 people"), with the verified quote stating it."""

    value: str
    citation: Citation
    also: list[Citation] = field(default_factory=list)  # other documents stating the same value


@dataclass
class Disagreement:
    """The retrieved sources give different values for what the question asks; each value with its quote."""

    what: str  # e.g. "number of people", "date"
    values: list[DisagreeingValue] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class Answer:
    """Everything a front end shows for one question."""

    question: str
    answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)  # numbered 1..n in this order, as the LLM saw them
    model: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # seconds: retrieve, generate, verify, total
    dropped_citations: list[int] = field(default_factory=list)  # [n] markers that named no passage
    standalone_question: str | None = None  # the condensed question used for retrieval, for follow-ups
    refusal_reason: RefusalReason | None = None  # why it was declined
    evidence: list[Citation] = field(default_factory=list)  # best sentence per passage, found before the answer
    claims: list[ClaimCheck] = field(default_factory=list)  # per sentence of the reply: kept or removed, and why
    # The date the answer speaks from: the as-of date the question was asked from when one was given, else the
    # newest cited document's date.
    as_of: str | None = None
    newest_source: str | None = None  # newest publication date among the cited documents
    time_scope: dict[str, Any] | None = None  # time words in the question and what retrieval did about them
    disagreements: list[Disagreement] = field(default_factory=list)  # values the sources give differently
    independent_sources: int = 0  # independent sources behind all citations together
    answerability: float | None = None  # the judge's best P(a retrieved passage states the answer) (None: gate off)
    warnings: list[str] = field(default_factory=list)  # e.g. a cited source holds text written to steer the assistant

    def as_of_words(self) -> str | None:
        """"as of 2023-01-05, newest source 2023-01-04" (the date asked from and what the sources reach), "as of
        2024-03-04" (the newest cited source), or None when the answer cites nothing dated and no date was asked."""
        if not self.as_of:
            return None
        if self.as_of == self.newest_source:
            return f"as of {self.as_of}"
        newest = f", newest source {self.newest_source}" if self.newest_source else ", no dated source cited"
        return f"as of {self.as_of}{newest}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by `rag ask --json` and the evaluation."""
        data = asdict(self)
        data["passages"] = [{"n": i, **p.to_dict()} for i, p in enumerate(self.passages, start=1)]
        return data
