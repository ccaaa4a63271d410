"""Question -> cited answer: retrieve, decline when retrieval is weak, generate with streaming, verify every quote."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from . import news
from .evidence import Evidence
from .focus import focus_passages
from .gate import PassageJudge, choose_passages
from .ground import GroundedClaim, ground_claims
from .repair import repair_citations
from .verify import SupportJudge, judge_claims, quotes_text
from ..config import Settings
from ..errors import RagError
from ..guard.flags import answer_warnings
from ..search.pipeline import retrieve
from .followup import needs_condensing, standalone_question
from .prompts import answer_messages
from .reply import ParsedReply, ReplyStream, is_paraphrased_refusal, is_refusal, parse_reply
from ..text import tidy_text, with_markers
from ..types import REFUSAL, Answer, Citation, ClaimCheck, Passage, RefusalReason

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
        standalone = self._standalone(question, history, llm, stage, timings)
        stage("searching")
        with _timed(timings, "retrieve"):  # the one retrieval path: time words ("latest", "in 2022") steer it
            found = retrieve(self.retriever, standalone, self.candidate_count, filters=filters, as_of=as_of)
        with _timed(timings, "judge"):  # which candidates state the answer: the model reads only those
            gate = choose_passages(standalone, found.passages, self.passage_judge, self.settings.answer)
        result = Answer(question=question, answer="", refused=False, passages=gate.passages, model=self.model_name,
                        standalone_question=standalone if standalone != question.strip() else None,
                        time_scope=found.time_scope, answerability=gate.best)
        evidence = Evidence(gate.passages, self.retriever.embedder)
        if gate.reason:
            _decline(result, gate.reason, on_token)
        else:
            with _timed(timings, "evidence"):
                result.evidence = evidence.preview(standalone)
            stage("evidence")
            if on_evidence:
                on_evidence(result.evidence)
            self._respond(result, llm, standalone, evidence, on_token, stage, timings)
        # dates, outlets, as_of, independent sources, disagreements
        news.annotate(result, standalone, as_of.isoformat() if as_of else None)
        result.warnings = answer_warnings(result.passages, {c.n for c in result.citations})
        timings["total"] = time.perf_counter() - started
        result.timings = {name: round(seconds, 3) for name, seconds in timings.items()}
        stage("done")
        return result

    def _respond(self, result: Answer, llm: BaseChatModel, question: str, evidence: Evidence,
                 on_token: TokenCallback | None, stage: StageCallback, timings: dict[str, float]) -> None:
        """Write the answer from the passages the gate chose, then cite and check it."""
        stage("writing")
        shown = focus_passages(result.passages, evidence, question, self.settings.answer.context_words)
        raw = self._generate(llm, question, shown, on_token, timings)
        stage("checking")
        with _timed(timings, "verify"):
            self._cite(result, raw, question, evidence)

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

    def _cite(self, result: Answer, raw: str, question: str, evidence: Evidence) -> None:
        """Fill answer, citations, claim verdicts and refusal from the raw reply."""
        parsed = parse_reply(raw, len(result.passages))
        if is_refusal(raw) or is_paraphrased_refusal(parsed):
            _decline(result, RefusalReason.MODEL, None)
            return
        result.dropped_citations = parsed.dropped
        text, claims = ground_claims(_cite_unmarked_quotes(parsed, len(result.passages)), evidence, question)
        if not any(claim.citations for claim in claims):
            _decline(result, RefusalReason.NO_CITATION, None)
            return
        result.claims = self._check(claims, result.passages, question)
        if self.settings.answer.repair_citations and not all(c.supported for c in result.claims):
            text, claims = self._repair(text, claims, result, evidence, question)
        kept = [claim for claim, check in zip(claims, result.claims) if check.supported]
        if not kept:
            _decline(result, RefusalReason.UNSUPPORTED, None)
            return
        result.answer = _checked_text(text, claims, result.claims)
        result.citations = list({(c.n, c.start, c.end): c for claim in kept for c in claim.citations}.values())

    def _repair(self, text: str, claims: list[GroundedClaim], result: Answer, evidence: Evidence,
                question: str) -> tuple[str, list[GroundedClaim]]:
        """Claims cut for a missing name or number, cited to the passage holding it where the judge agrees
        (repair.py), then checked again; the answer text shows their new markers."""
        repaired = repair_citations(claims, result.claims, evidence, question, self.judge,
                                    self.settings.answer.support_threshold)
        changed = [(old, new) for old, new in zip(claims, repaired) if new is not old]
        for old, new in changed:
            text = text.replace(old.sentence, new.sentence, 1)
        if changed:
            result.claims = self._check(repaired, result.passages, question)
        return text, repaired

    def _check(self, claims: list[GroundedClaim], passages: list[Passage], question: str) -> list[ClaimCheck]:
        """A verdict per claim: its quotes put to the judge, its names and numbers looked up in its passages."""
        if not self.settings.answer.check_claims:
            return [ClaimCheck(c.sentence, _passage_numbers(c), supported=bool(c.citations), shown=c.sentence) for c in claims]
        items = [(c.sentence, c.text, _passage_numbers(c), quotes_text(c.citations), _cited_text(c, passages)) for c in claims]
        return judge_claims(items, question, self.judge, self.settings.answer.support_threshold)

    @property
    def judge(self) -> SupportJudge:
        """Who judges claim support: the configured judge, else the answering model itself."""
        if self._judge is None:
            from .verify import make_judge

            self._judge = make_judge(self.settings, self.llm)
        return self._judge


def _passage_numbers(claim: GroundedClaim) -> list[int]:
    """The passage numbers a claim cites."""
    return list(dict.fromkeys(c.n for c in claim.citations))


def _cite_unmarked_quotes(parsed: ParsedReply, count: int) -> ParsedReply:
    """A reply that gives quotes but no [n] in its text, with the quotes' passages cited at its end."""
    if parsed.cited or not parsed.quotes:
        return parsed
    quotes = parsed.quotes
    cited = parse_reply(with_markers(parsed.text, list(quotes)), count)
    cited.quotes = quotes
    return cited


def _checked_text(text: str, claims: list[GroundedClaim], checks: list[ClaimCheck]) -> str:
    """The answer as shown: each claim as its check shows it (trimmed), unsupported ones removed."""
    for claim, check in zip(claims, checks):
        text = text.replace(claim.sentence, check.shown if check.supported else "", 1)
    return tidy_text(text)


def _cited_text(claim: GroundedClaim, passages: list[Passage]) -> str:
    """The text of the passages a claim cites, where its names and numbers must appear."""
    return " ".join(passages[n - 1].text for n in _passage_numbers(claim) if 1 <= n <= len(passages))


def _decline(result: Answer, reason: RefusalReason, on_token: TokenCallback | None) -> None:
    """Make `result` the fixed refusal, without citations."""
    result.answer = REFUSAL
    result.refused = True
    result.refusal_reason = reason
    result.citations = []
    if on_token:
        on_token(REFUSAL)


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
