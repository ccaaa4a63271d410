"""Question -> cited answer, in steps that each return what they made: search (the one retrieval path), gate (which
passages state an answer), read (the best sentence of each, shown first), write (the model's streamed reply),
check (quotes verified, claims judged: rag/checks/verdict.py) and annotate (dates, outlets, sources:
rag/news/annotate.py). The Answer is built once, from their results."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..checks.claims import SupportJudge
from ..checks.evidence import Evidence
from ..checks.gate import GateResult, PassageJudge, choose_passages
from ..checks.reply import ReplyStream
from ..checks.verdict import CheckedReply, check_reply, declined
from ..config import Settings
from ..errors import RagError
from ..guard.flags import answer_warnings
from ..language.parse import preload
from ..news.annotate import annotate, dated_citations
from ..news.disagree_names import may_ask_who
from ..search.pipeline import Retrieval, retrieve
from ..types import REFUSAL, Answer, Citation, Passage
from .focus import focus_passages
from .followup import needs_condensing, standalone_question
from .prompts import answer_messages

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

    from ..search import Filters, Searcher

TokenCallback = Callable[[str], None]
EvidenceCallback = Callable[[list[Citation]], None]
StageCallback = Callable[[str], None]  # "follow-up", "searching", "evidence", "writing", "checking", "done"


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    """Add the seconds the block takes to timings[name]."""
    tick = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - tick


class Assistant:
    """A retriever and a chat model loaded once and reused across questions (CLI, UI, evaluation)."""

    def __init__(
        self, settings: Settings | None = None, *, retriever: Searcher | None = None, llm: BaseChatModel | None = None,
        judge: SupportJudge | None = None, passage_judge: PassageJudge | None = None,
    ):
        self.settings = settings or _load_settings()
        self._retriever = retriever
        self._llm = llm
        self._own_llm = llm is None
        self._judge = judge
        self._passage_judge = passage_judge

    @property
    def retriever(self) -> Searcher:
        """The retriever, opened on first use."""
        if self._retriever is None:
            from ..search.retriever import Retriever

            self._retriever = Retriever(self.settings)
        return self._retriever

    @property
    def llm(self) -> BaseChatModel:
        """The chat model, created on first use (local weights load at the first generation)."""
        if self._llm is None:
            from ..llm.specs import get_chat_model

            self._llm = get_chat_model(self.settings.llm)
        return self._llm

    @property
    def model_name(self) -> str:
        """Label of the chat model for display and JSON."""
        from ..llm.specs import chat_model_label, model_label

        return model_label(self.settings.llm) if self._own_llm else chat_model_label(self._llm)

    def ask(
        self,
        question: str,
        *,
        on_token: TokenCallback | None = None,
        on_evidence: EvidenceCallback | None = None,
        on_stage: StageCallback | None = None,
        history: Sequence[Any] | None = None,
        filters: Filters | None = None,
        as_of: dt.date | None = None,
    ) -> Answer:
        """Answer one question, asked on `as_of` when given (nothing published after it is read). Callbacks, all
        optional: `on_stage` names each step as it starts, `on_evidence` gets the best verified sentence per retrieved
        passage before the model is asked, `on_token` the answer text as it is generated (without the quote block)."""
        if not question or not question.strip():
            raise RagError('the question is empty: ask something, e.g. rag ask "Why did ...?"')
        stage = on_stage or (lambda name: None)
        started, timings = time.perf_counter(), {}
        llm = self.llm  # a bad model spec fails here, before any retrieval work
        if may_ask_who(question):  # disagreement on names will parse with spaCy: load it while the model works
            preload()
        standalone = self._standalone(question, history, llm, stage, timings)
        found = self._search(standalone, filters, as_of, stage, timings)
        gate = self._gate(standalone, found, timings)
        evidence = Evidence(gate.passages, self.retriever.embedder)
        if gate.reason:
            preview, checked = [], declined(gate.reason)
            if on_token:
                on_token(REFUSAL)
        else:
            preview = self._read(standalone, evidence, on_evidence, stage, timings)
            raw = self._write(llm, standalone, evidence, on_token, stage, timings)
            checked = self._check(raw, standalone, evidence, stage, timings)
        notes = annotate(gate.passages, checked.citations, preview, checked.claims, standalone,
                         as_of.isoformat() if as_of else None, checked.refusal)
        timings["total"] = time.perf_counter() - started
        stage("done")
        return Answer(
            question=question, answer=checked.text, refused=checked.refusal is not None, citations=notes.citations,
            passages=gate.passages, model=self.model_name, dropped_citations=checked.dropped,
            timings={name: round(seconds, 3) for name, seconds in timings.items()},
            standalone_question=standalone if standalone != question.strip() else None,
            refusal_reason=checked.refusal, evidence=notes.evidence, claims=notes.claims, as_of=notes.as_of,
            newest_source=notes.newest_source, time_scope=found.time_scope, disagreements=notes.disagreements,
            independent_sources=notes.independent_sources, answerability=gate.best,
            warnings=answer_warnings(gate.passages, {c.n for c in notes.citations}),
        )

    def _search(self, question: str, filters: Filters | None, as_of: dt.date | None, stage: StageCallback,
                timings: dict[str, float]) -> Retrieval:
        """The candidates, through the one retrieval path: time words ("latest", "in 2022") steer it."""
        stage("searching")
        with _timed(timings, "retrieve"):
            return retrieve(self.retriever, question, self.candidate_count, filters=filters, as_of=as_of)

    def _gate(self, question: str, found: Retrieval, timings: dict[str, float]) -> GateResult:
        """Which candidates state the answer: the model reads only those (or none, with the reason)."""
        with _timed(timings, "judge"):
            return choose_passages(question, found.passages, self.passage_judge, self.settings.answer)

    @staticmethod
    def _read(question: str, evidence: Evidence, on_evidence: EvidenceCallback | None, stage: StageCallback,
              timings: dict[str, float]) -> list[Citation]:
        """The best verified sentence of each passage the model will read, shown before the answer."""
        with _timed(timings, "evidence"):
            preview = dated_citations(evidence.preview(question), evidence.passages)
        stage("evidence")
        if on_evidence:
            on_evidence(preview)
        return preview

    def _write(self, llm: BaseChatModel, question: str, evidence: Evidence, on_token: TokenCallback | None,
               stage: StageCallback, timings: dict[str, float]) -> str:
        """The model's raw reply from the gate's passages, focused on the sentences that matter."""
        stage("writing")
        shown = focus_passages(evidence.passages, evidence, question, self.settings.answer.context_words)
        return self._generate(llm, question, shown, on_token, timings)

    def _check(self, raw: str, question: str, evidence: Evidence, stage: StageCallback,
               timings: dict[str, float]) -> CheckedReply:
        """What stands of the reply: quotes verified by offsets, claims judged (rag/checks/verdict.py)."""
        stage("checking")
        with _timed(timings, "verify"):
            return check_reply(raw, evidence.passages, evidence, question, self.settings.answer, lambda: self.judge)

    @property
    def candidate_count(self) -> int:
        """How many passages to retrieve: the judge's candidates, or just what the model reads without the gate."""
        answer = self.settings.answer
        return max(answer.candidates, answer.passages) if answer.gate else answer.passages

    @property
    def passage_judge(self) -> PassageJudge | None:
        """Who decides which passages state the answer: the trained judge (None when answer.gate is off)."""
        if self._passage_judge is None and self.settings.answer.gate:
            from ..judge import shared_judge

            self._passage_judge = shared_judge()
        return self._passage_judge if self.settings.answer.gate else None

    def _standalone(self, question: str, history: Sequence[Any] | None, llm: BaseChatModel,
                    stage: StageCallback, timings: dict[str, float]) -> str:
        """The question to search for: a follow-up rewritten with the conversation, else the question itself."""
        if not needs_condensing(history, question):
            return question.strip()
        stage("follow-up")
        with _timed(timings, "condense"):
            return standalone_question(history, question, llm, self.settings)

    def _generate(
        self,
        llm: BaseChatModel,
        question: str,
        passages: list[Passage],
        on_token: TokenCallback | None,
        timings: dict[str, float],
    ) -> str:
        """Stream the model's reply, showing the answer part through `on_token`; returns the raw reply."""
        from ..llm.calls import stream_chat

        messages = answer_messages(question, passages, self.settings.answer.prompts_dir)
        display = ReplyStream(on_token)
        parts: list[str] = []
        tick = time.perf_counter()
        for text in stream_chat(llm, messages, self.settings.llm):
            if not parts:
                timings["first_token"] = time.perf_counter() - tick
            parts.append(text)
            display.feed(text)
        timings["generate"] = time.perf_counter() - tick
        return "".join(parts)

    @property
    def judge(self) -> SupportJudge:
        """Who judges claim support: the configured judge, else the answering model itself."""
        if self._judge is None:
            from ..checks.claims import make_judge

            self._judge = make_judge(self.settings, self.llm)
        return self._judge


def _load_settings() -> Settings:
    """Settings from env (lazy import keeps this module light)."""
    from ..config import load_settings

    return load_settings()


def answer(
    question: str,
    settings: Settings | None = None,
    *,
    retriever: Searcher | None = None,
    llm: BaseChatModel | None = None,
    judge: SupportJudge | None = None,
    history: Sequence[Any] | None = None,
    filters: Filters | None = None,
    as_of: dt.date | None = None,
    **callbacks: Any,
) -> Answer:
    """Answer one question from the index (convenience over Assistant; pass retriever/llm to reuse them).

    `callbacks`: on_token, on_evidence, on_stage, as for Assistant.ask."""
    return Assistant(settings, retriever=retriever, llm=llm, judge=judge).ask(question, history=history, filters=filters,
                                                                  as_of=as_of, **callbacks)
