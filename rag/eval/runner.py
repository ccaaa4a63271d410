"""Run gold questions through retrieval and `answer()`, score each one, and write a run folder."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..search.filters import parse_as_of
from ..types import Answer, Citation, Passage
from . import metrics as m
from .gold import GoldItem

if TYPE_CHECKING:
    from ..checks.gate import GateResult
    from ..config import Settings
    from ..search.retriever import Retriever

RESULTS, METRICS = "results.jsonl", "metrics.json"
SOURCE_DEPTH = 30  # passages fetched for source-level sets, so ~10 distinct documents remain after dedup


@dataclass
class EvalOptions:
    """What a run measures."""

    k: int = 5
    mode: str | None = None
    retrieval_only: bool = False
    judge: Any = None  # a chat model used as LLM judge, or None
    baseline: Any = None  # the plain LangChain pipeline (rag/eval/baseline.py) scored beside, or None
    label: dict[str, Any] = field(default_factory=dict)  # run description stored in metrics.json


class Evaluator:
    """Scores gold items one by one with a shared retriever, store and (unless retrieval-only) chat model."""

    def __init__(self, settings: Settings, retriever: Retriever, llm: Any = None, options: EvalOptions | None = None,
                 answer_fn: Callable[..., Answer] | None = None):
        self.settings = settings
        self.retriever = retriever
        self.store = retriever.store
        self.llm = llm
        self.options = options or EvalOptions()
        self.answer_fn = answer_fn
        self._originals: dict[str, str | None] = {}  # only for the independent quote check

    def passage_texts(self, passage: Passage) -> list[str]:
        """The passage's cleaned text and its span of the original text."""
        return [passage.text, passage.original or ""]

    def score(self, item: GoldItem) -> dict[str, Any]:
        """One results.jsonl row for a gold item."""
        row: dict[str, Any] = {"id": item.id, "question": item.question, "kind": item.kind,
                               "answerable": item.answerable, "gold": _gold_summary(item)}
        if item.as_of:
            row["as_of"] = item.as_of
        started = time.perf_counter()
        retrieved = self.retrieve(item)
        seconds = time.perf_counter() - started
        row["retrieved"] = [self._passage_row(p, item) for p in retrieved]
        row["scores"] = {**self.retrieval_scores(item, retrieved)}
        if item.choices:
            row["scores"]["quiz"] = self.quiz_recall(item, retrieved)
        if self.options.retrieval_only:
            row["timings"] = {"retrieve": seconds, "total": seconds}
            gate = self.gate(item.question, retrieved)
            row["scores"]["gate"] = {"refused": float(gate.reason is not None)}
            row.update(answerability=gate.best, refused=gate.reason is not None)  # for the judge's risk-coverage
        else:
            self.answer_and_score(item, row)
        row["pass"] = passed(row, self.options.k)
        return row

    def retrieve(self, item: GoldItem) -> list[Passage]:
        """Ranked passages deep enough for @10 metrics (and ~10 documents for source-level sets), found as every face
        finds them (time words applied): their top is what answer() shows the model."""
        from ..search.pipeline import retrieve

        depth = max(self.options.k, 10)
        if item.relevant_sources:
            depth = max(depth, SOURCE_DEPTH)
        return retrieve(self.retriever, item.question, min(depth, 100), mode=self.options.mode,
                        as_of=parse_as_of(item.as_of)).passages

    def quiz_recall(self, item: GoldItem, passages: list[Passage]) -> dict[str, float]:
        """Answer recall@k of rag (and of the baseline pipeline, when it runs): a top-k passage holds the right choice."""
        from .quiz import answer_recall

        depths = sorted({self.options.k, 5, 10})
        scores = {f"answer_recall@{d}": answer_recall([p.text for p in passages], item.answers[0], d) for d in depths}
        if self.options.baseline is not None:
            chunks = self.options.baseline.search(item.question, max(depths))
            scores |= {f"baseline_answer_recall@{d}": answer_recall(chunks, item.answers[0], d) for d in depths}
        return scores

    def covered_quotes(self, passage: Passage, item: GoldItem) -> set[int]:
        """Gold evidence quotes held by a passage."""
        return m.quote_pieces(self.passage_texts(passage), [e.quote for e in item.evidence],
                              [e.source for e in item.evidence], passage.duplicates)

    def retrieval_scores(self, item: GoldItem, passages: list[Passage]) -> dict[str, dict[str, float]]:
        """Passage-level scores against evidence quotes; document-level (BEIR-style) against relevant sources."""
        scores: dict[str, dict[str, float]] = {}
        k = self.options.k
        if item.evidence:
            covered = [self.covered_quotes(p, item) for p in passages]
            scores["retrieval"] = m.retrieval_scores(covered, len(item.evidence), k)
        if item.relevant_sources:
            firsts = [passages[i] for i in m.dedupe_by_source([p.source for p in passages])]
            covered = [m.source_pieces([p.source, *p.duplicates], item.relevant_sources) for p in firsts]
            scores["retrieval_docs"] = m.retrieval_scores(covered, len(item.relevant_sources), k)
        return scores

    def gate(self, question: str, passages: list[Passage]) -> GateResult:
        """What answer()'s judge gate decides on the candidates it would put to the judge."""
        from ..answer.assistant import Assistant
        from ..checks.gate import choose_passages

        assistant = Assistant(self.settings, retriever=self.retriever, llm=self.llm)
        return choose_passages(question, passages[: assistant.candidate_count], assistant.passage_judge,
                               self.settings.answer)

    def answer_and_score(self, item: GoldItem, row: dict[str, Any]) -> None:
        """Ask the question through answer() and add answer, citation, refusal and judge scores to the row."""
        result = self._ask(item)
        row.update(answer=result.answer, refused=result.refused, model=result.model,
                   refusal_reason=result.refusal_reason, answerability=result.answerability,
                   citations=[c.to_dict() for c in result.citations],
                   passages=[{"n": n, **self._passage_row(p, item)} for n, p in enumerate(result.passages, start=1)],
                   dropped_citations=result.dropped_citations, timings=dict(result.timings))
        row["scores"]["answer"] = self.answer_scores(item, result)
        row["scores"]["citations"] = self.citation_scores(item, result, row["citations"])
        row["scores"]["refusal"] = {"refused": float(result.refused)}
        row["claims"] = [c.to_dict() for c in result.claims]
        row["scores"]["claims"] = self.claim_scores(item, result)
        if item.choices:
            self.quiz_verdicts(item, result, row)
        if self.options.judge is not None and item.answerable and item.answers:
            row["scores"]["judge"] = {"correct": 0.0 if result.refused else judge_correct(self.options.judge, item, result.answer)}

    def claim_scores(self, item: GoldItem, result: Answer) -> dict[str, float]:
        """Claims kept and removed by the check; with --judge, the share of shown claims an independent judge backs."""
        kept = [c for c in result.claims if c.supported]
        scores = {"checked": float(len(result.claims)), "kept": float(len(kept)),
                  "removed": float(len(result.claims) - len(kept))}
        if self.options.judge is not None and kept and self.settings.answer.check_claims:
            from ..checks.claims import ModelJudge

            judge = ModelJudge(self.options.judge)
            quotes = {c.n: f'"{" ".join(c.quote.split())}"' for c in result.citations}
            votes = [judge.support(item.question, m.strip_citations(c.sentence), " ".join(quotes.get(n, "") for n in c.citations))
                     >= 0.5 for c in kept]
            scores["judge_supported"] = sum(votes) / len(votes)
        return scores

    def quiz_verdicts(self, item: GoldItem, result: Answer, row: dict[str, Any]) -> None:
        """Right, wrong or declined for rag's answer (and the baseline's), near misses, and citations dated after
        the question's as-of day (there must be none)."""
        from .quiz import near_miss, verdict

        text = m.strip_citations(result.answer)
        row.update(verdict=verdict(text, result.refused, item.choices, item.answers[0]),
                   near_miss=near_miss(text, result.refused, item.choices))
        late = [c.source for c in result.citations if item.as_of and c.date and c.date > item.as_of]
        row["scores"]["quiz"]["cited_after_as_of"] = float(len(late))
        if self.options.baseline is not None:
            said = self.options.baseline.answer(item.question, self.settings.answer.passages)
            row["baseline"] = {"answer": said.answer, "refused": said.refused,
                               "verdict": verdict(said.answer, said.refused, item.choices, item.answers[0])}

    def _ask(self, item: GoldItem) -> Answer:
        answer_fn = self.answer_fn
        if answer_fn is None:
            from ..answer.assistant import answer as answer_fn
        as_of = {"as_of": parse_as_of(item.as_of)} if item.as_of else {}
        return answer_fn(item.question, self.settings, retriever=self.retriever, llm=self.llm, **as_of)

    def answer_scores(self, item: GoldItem, result: Answer) -> dict[str, float]:
        """EM, F1, containment, must and semantic similarity (all 0 for a refusal); empty for unanswerable items."""
        if not item.answerable or not item.answers:
            return {}
        text = "" if result.refused else m.strip_citations(result.answer)
        scores = {"exact_match": m.exact_match(text, item.answers), "f1": m.best_f1(text, item.answers),
                  "contains": m.contains_answer(text, item.answers),
                  "semantic_similarity": self.similarity(text, item.answers)}
        if item.must:
            scores["must_pass"] = m.must_pass(text, item.must)
        return scores

    def similarity(self, text: str, golds: list[str]) -> float:
        """Best cosine similarity of the answer to a gold answer, with the retriever's embedder."""
        if not text.strip():
            return 0.0
        embed = self.retriever.embedder.embed_query
        vector = embed(text)
        return max(m.cosine(vector, embed(g)) for g in golds)

    def quote_in_source(self, citation: Citation) -> bool:
        """The evaluator's own check: the quote is the document's text at its span, read from the index."""
        original = self._originals.get(citation.source)
        if original is None:
            original = self._originals[citation.source] = self.store.document_original(citation.source)
        return m.quote_matches_source(citation.quote, original, citation.start, citation.end)

    def citation_scores(self, item: GoldItem, result: Answer, citation_rows: list[dict[str, Any]]) -> dict[str, Any]:
        """Independent quote verification, plus precision/recall of cited passages against gold evidence."""
        for citation, crow in zip(result.citations, citation_rows):
            crow["verified_by_eval"] = self.quote_in_source(citation)
        scores: dict[str, Any] = {"count": float(len(citation_rows)),
                                  "verified": float(sum(c["verified_by_eval"] for c in citation_rows))}
        cited = sorted({c.n for c in result.citations if 1 <= c.n <= len(result.passages)})
        if item.evidence and item.answerable:
            pieces = [self.covered_quotes(result.passages[n - 1], item) for n in cited]
            scores["precision"] = m.citation_precision([bool(p) for p in pieces])
            scores["recall"] = m.citation_recall(set().union(*pieces) if pieces else set(), len(item.evidence))
        return {k: v for k, v in scores.items() if v is not None}

    def _passage_row(self, passage: Passage, item: GoldItem) -> dict[str, Any]:
        """A compact passage record with the gold pieces it holds."""
        row = {"source": passage.source, "chunk_id": passage.chunk_id, "start": passage.start, "end": passage.end,
               "score": round(float(passage.score), 6), "duplicates": list(passage.duplicates), "text": passage.text}
        if item.evidence:
            row["gold_quotes"] = sorted(self.covered_quotes(passage, item))
        if item.relevant_sources:
            row["gold_sources"] = sorted(m.source_pieces([passage.source, *passage.duplicates], item.relevant_sources))
        return row

    def run(self, items: list[GoldItem], progress: bool = False) -> Iterator[dict[str, Any]]:
        """Rows in gold order, with an optional progress bar."""
        self.retriever.search("warm-up", k=1)  # loads the embedder and indexes, so the first timing is not skewed
        iterable = items
        if progress:
            from tqdm import tqdm

            iterable = tqdm(items, desc="Evaluating", unit="q")
        for item in iterable:
            yield self.score(item)


def _gold_summary(item: GoldItem) -> dict[str, Any]:
    return {"answers": item.answers, "evidence": [{"source": e.source, "quote": e.quote} for e in item.evidence],
            "relevant_sources": item.relevant_sources, "must": item.must}


def passed(row: dict[str, Any], k: int) -> bool:
    """Pass/fail for the report: retrieval hit@k (retrieval-only), else a correct grounded answer or a due refusal."""
    scores = row["scores"]
    if "answer" not in scores:  # retrieval-only
        if not row["answerable"]:
            return bool(scores.get("gate", {}).get("refused"))
        level = scores.get("retrieval") or scores.get("retrieval_docs") or {}
        return bool(level.get(f"hit@{k}"))
    if not row["answerable"]:
        return bool(row["refused"])
    if row["refused"]:
        return False
    if "verdict" in row:  # a quiz question: the answer names the right choice and no other
        return row["verdict"] == "right"
    citations = scores["citations"]
    return bool(m.answer_correct(row)) and citations["verified"] == citations["count"]


JUDGE_PROMPT = """You grade answers. Question: {question}
Reference answer(s): {gold}
Candidate answer: {answer}
Is the candidate answer correct, i.e. does it agree with a reference answer? Reply with one word: CORRECT or INCORRECT."""


def judge_correct(model: Any, item: GoldItem, answer: str) -> float:
    """LLM-judged correctness: 1.0 when the judge replies CORRECT."""
    from langchain_core.messages import HumanMessage

    prompt = JUDGE_PROMPT.format(question=item.question, gold=" | ".join(item.answers), answer=m.strip_citations(answer))
    reply = model.invoke([HumanMessage(prompt)])
    verdict = str(reply.content).strip().upper()
    return float(verdict.startswith("CORRECT"))


def write_rows(rows: Iterator[dict[str, Any]], out_dir: Path, kept: list[dict[str, Any]]) -> None:
    """Append rows to `kept` and to results.jsonl as they come, so an interruption keeps the rows so far."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / RESULTS, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            kept.append(row)


def load_run(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """metrics.json and results.jsonl of a run folder."""
    from ..errors import RagError

    run_dir = Path(run_dir)
    if not (run_dir / METRICS).is_file() or not (run_dir / RESULTS).is_file():
        raise RagError(f"{run_dir} is not an eval run (no {METRICS}/{RESULTS}): pass folders written by `rag eval`")
    metrics = json.loads((run_dir / METRICS).read_text(encoding="utf-8"))
    with open(run_dir / RESULTS, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return metrics, rows


__all__ = ["EvalOptions", "Evaluator", "judge_correct", "load_run", "passed", "write_rows"]


def sample(items: list[GoldItem], limit: int | None) -> list[GoldItem]:
    """The first `limit` items; when the set mixes answerable and unanswerable items, up to half are unanswerable."""
    if limit is None or limit >= len(items):
        return items
    declined = [i for i in items if not i.answerable]
    if not declined or len(declined) == len(items):
        return items[:limit]
    keep_declined = min(limit // 2, len(declined))
    chosen = {id(i) for i in [i for i in items if i.answerable][: limit - keep_declined] + declined[:keep_declined]}
    return [i for i in items if id(i) in chosen]


def run_eval(items: list[GoldItem], settings: Settings, out_dir: Path, *, retriever: Retriever, llm: Any = None,
             options: EvalOptions | None = None, progress: bool = False,
             answer_fn: Callable[..., Answer] | None = None) -> dict[str, Any]:
    """Score every item, then write results.jsonl, metrics.json, report.md/html and plots into `out_dir`."""
    options = options or EvalOptions()
    out_dir = Path(out_dir)
    started = time.perf_counter()
    evaluator = Evaluator(settings, retriever, llm, options, answer_fn)
    rows: list[dict[str, Any]] = []
    try:
        write_rows(evaluator.run(items, progress), out_dir, rows)
    except KeyboardInterrupt:  # Ctrl-C on a long run: summarise the questions done so far, then stop
        if rows:
            _finish(out_dir, rows, settings, options, started, interrupted=True)
        raise
    return _finish(out_dir, rows, settings, options, started)


def _finish(out_dir: Path, rows: list[dict[str, Any]], settings: Settings, options: EvalOptions, started: float,
            interrupted: bool = False) -> dict[str, Any]:
    """Write metrics.json and the report for the scored rows."""
    from .metrics import summarize
    from .quiz import summarize_quiz
    from .report import write_report

    run_info = {**options.label, "questions": len(rows), "k": options.k, "mode": options.mode or settings.retrieve.mode,
                "retrieval_only": options.retrieval_only, "index": str(settings.index),
                "seconds": round(time.perf_counter() - started, 2)}
    if interrupted:
        run_info["interrupted"] = True
    metrics = {"run": run_info, **summarize(rows)}
    if quiz := summarize_quiz(rows, options.k):
        metrics["quiz"] = quiz
    (out_dir / METRICS).write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_report(out_dir, metrics, rows)
    return metrics
