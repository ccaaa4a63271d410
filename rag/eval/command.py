"""What `rag eval` does: pick the gold set and index, build the retriever and model, run, summarise."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RagError
from .gold import GoldItem, load_gold


@dataclass
class EvalRequest:
    """Parsed `rag eval` arguments."""

    gold: Path | None = None
    dataset: str | None = None
    shared: Path | None = None
    index: Path | None = None
    out: Path | None = None
    llm: str | None = None
    judge: str | None = None
    retrieval_only: bool = False
    limit: int | None = None
    mode: str | None = None
    k: int | None = None
    split: str = "all"  # CLAPNQ lines: all, train, calibration or report (rag.eval.datasets.CLAPNQ_SPLITS)
    as_of: str | None = None  # the day questions without their own as_of are asked from (default today)
    baseline: bool = False  # also score the plain LangChain pipeline on the same questions


def default_shared_dir() -> Path:
    """The shared data folder beside the repo (../shared), looked up from the working directory, then the package."""
    candidates = [Path.cwd().parent / "shared", Path(__file__).resolve().parents[3] / "shared"]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def default_out_dir(dataset: str | None) -> Path:
    """runs/<timestamp>[-dataset]/, never an existing folder."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / (f"{stamp}-{dataset}" if dataset else stamp)
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def execute(request: EvalRequest) -> tuple[dict[str, Any], Path]:
    """Run an evaluation as requested; returns metrics and the run folder."""
    from ..config import load_settings
    from ..index.embed import embedder_for
    from ..search.retriever import Retriever
    from ..search.filters import parse_as_of
    from .runner import EvalOptions, run_eval, sample

    if request.gold is None and request.dataset is None:
        raise RagError("nothing to evaluate: pass a gold file (rag eval GOLD.jsonl), --dataset NAME or --compare RUN_A RUN_B")
    settings = load_settings(index=request.index if request.dataset is None else None,
                             **{"retrieve.mode": request.mode, "retrieve.k": request.k, "llm.spec": request.llm})
    embedder = embedder_for(settings.embed, indexing=True)  # the data sets are indexed as `rag index` does
    items = _gold_items(request, settings, embedder)
    items = sample(items, request.limit)
    day = parse_as_of(request.as_of)
    for item in items:
        item.as_of = item.as_of or (day.isoformat() if day else None)
    retriever = Retriever(settings, embedder=embedder)
    llm = None if request.retrieval_only else _chat_model(settings.llm)
    judge = _chat_model(settings.llm.model_copy(update={"spec": request.judge})) if request.judge else None
    label = {"gold": str(request.gold or f"dataset:{request.dataset}"), "split": request.split, "embed_model": settings.embed.model,
             "llm": None if request.retrieval_only else settings.llm.spec, "judge": request.judge,
             "answer_passages": settings.answer.passages, "answerable_threshold": settings.answer.answerable_threshold,
             "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    options = EvalOptions(k=settings.retrieve.k, mode=settings.retrieve.mode, retrieval_only=request.retrieval_only,
                          judge=judge, label=label)
    if request.baseline:
        from .baseline import LangChainBaseline

        options.baseline = LangChainBaseline.for_index(settings, embedder, llm)
        label["baseline"] = options.baseline.describe()
    out = request.out or default_out_dir(request.dataset)
    metrics = run_eval(items, settings, out, retriever=retriever, llm=llm, options=options, progress=True)
    return metrics, out


def _gold_items(request: EvalRequest, settings, embedder) -> list[GoldItem]:
    """Gold items from a file, or a named data set (building its index under --index, default index/)."""
    if request.dataset is None:
        return load_gold(request.gold)
    from .datasets import prepare_dataset

    shared = request.shared or default_shared_dir()
    items, folder = prepare_dataset(request.dataset, shared, request.index or Path("index"), settings, embedder,
                                    request.split)
    settings.index = folder
    if request.gold is not None:
        items = load_gold(request.gold)
    return items


def _chat_model(llm_settings):
    from ..llm.specs import get_chat_model

    return get_chat_model(llm_settings)


_LABEL_WIDTH = 17
# (metrics section, scores shown; None = every score but the count n)
_HEADLINE_SECTIONS: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("retrieval", None), ("retrieval_docs", None),
    ("answer", ("exact_match", "f1", "contains", "must_pass", "semantic_similarity")),
    ("judge", ("correct",)), ("citations", ("verified_share", "precision", "recall")),
    ("refusal", ("refusal_rate", "false_refusal_rate")),
    ("quiz", ("answer_recall@5_of_ceiling", "baseline_answer_recall@5_of_ceiling", "answer_precision", "right_of_ceiling")),
)


def headline(metrics: dict[str, Any]) -> list[str]:
    """A few lines summarising a run for the terminal."""
    lines = [_section_line(metrics, section, keys) for section, keys in _HEADLINE_SECTIONS]
    lines += [_latency_line(metrics), _pass_rate_line(metrics)]
    return [line for line in lines if line is not None]


def _section_line(metrics: dict[str, Any], section: str, keys: tuple[str, ...] | None) -> str | None:
    """The chosen scores of one metrics section on one line, or None when it has none set."""
    shown = [(k, v) for k, v in (metrics.get(section) or {}).items() if _in_headline(k, keys) and v is not None]
    if not shown:
        return None
    return f"{section:<{_LABEL_WIDTH}}" + "  ".join(f"{k} {v:.3f}" for k, v in shown if isinstance(v, (int, float)))


def _in_headline(key: str, keys: tuple[str, ...] | None) -> bool:
    """Whether a score is listed in keys (with no list: any score but the count n)."""
    return key != "n" if keys is None else key in keys


def _latency_line(metrics: dict[str, Any]) -> str | None:
    """p50/p95 seconds per stage, or None when the run has no latency."""
    latency = metrics.get("latency") or {}
    if not latency:
        return None
    return f"{'latency p50/p95':<{_LABEL_WIDTH}}" + "  ".join(
        f"{stage} {v['p50']:.2f}/{v['p95']:.2f}s" for stage, v in latency.items() if v["p50"] is not None)


def _pass_rate_line(metrics: dict[str, Any]) -> str | None:
    """The share of questions that passed, or None when it is unknown."""
    pass_rate = metrics["pass_rate"]
    if pass_rate["all"] is None:
        return None
    return f"{'pass rate':<{_LABEL_WIDTH}}{pass_rate['all']:.3f} of {pass_rate['n']} questions"
