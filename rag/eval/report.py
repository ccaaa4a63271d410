"""The readable report of a run: report.md and report.html with plots (score distributions, latency per stage)."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .metrics import stage_times

PLOTS = "plots"
_SECTION_TITLES = {
    "retrieval": "Retrieval (passages holding a gold quote)",
    "retrieval_docs": "Retrieval (documents, BEIR-style source relevance)",
    "answer": "Answers (answerable questions; refusals score 0)",
    "judge": "LLM-judged correctness (separate from the deterministic metrics)",
    "citations": "Citations",
    "refusal": "Refusals",
    "pass_rate": "Pass rate",
}
_MEANING = {
    "hit@": "a top-k passage holds gold evidence", "recall@": "share of gold evidence in the top k",
    "mrr@10": "1 / rank of the first passage with gold evidence", "ndcg@10": "rank-weighted evidence found (1 = ideal)",
    "exact_match": "answer equals a gold answer (SQuAD-normalised)", "f1": "token overlap with the best gold answer",
    "contains": "a gold answer appears in the answer", "must_pass": "every required keyword group present",
    "semantic_similarity": "embedding cosine to the best gold answer", "correct": "judge model says correct",
    "verified_share": "quotes found verbatim in the source (must be 1)", "precision": "cited passages holding gold evidence",
    "recall": "gold evidence held by a cited passage", "answers_with_citations": "answers that cite something",
    "refusal_rate": "unanswerable questions declined (higher is better)",
    "false_refusal_rate": "answerable questions declined (lower is better)", "all": "questions that passed",
    "n": "questions scored",
    "answer_recall@": "a top-k passage names the right choice", "ceiling": "questions whose own articles name the right choice",
    "answer_precision": "right / answered", "right_of_ceiling": "ceiling questions answered right",
    "right": "answers naming the right choice and no other", "wrong": "answers naming another choice, or none",
    "declined": "questions declined", "cited_after_as_of": "citations of articles dated after the question (must be 0)",
    "baseline_answer_recall@": "the same for the plain LangChain pipeline",
}
_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;vertical-align:top}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee}code{background:#f6f6f6}"""


def write_report(out_dir: Path, metrics: dict[str, Any], rows: list[dict[str, Any]]) -> list[Path]:
    """Write plots, report.md and report.html into a run folder; returns the files written."""
    out_dir = Path(out_dir)
    plots = write_plots(out_dir, rows)
    markdown = render_markdown(metrics, rows, [p.relative_to(out_dir).as_posix() for p in plots])
    (out_dir / "report.md").write_text(markdown, encoding="utf-8")
    (out_dir / "report.html").write_text(markdown_to_html(markdown), encoding="utf-8")
    return [*plots, out_dir / "report.md", out_dir / "report.html"]


def markdown_to_html(markdown: str, title: str = "rag eval report") -> str:
    """A standalone HTML page from the report's markdown (tables enabled, raw HTML escaped)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head>\n<body>\n{body}</body></html>\n")


# ---------------------------------------------------------------- markdown


def render_markdown(metrics: dict[str, Any], rows: list[dict[str, Any]], plots: list[str]) -> str:
    """The whole report as markdown."""
    parts = ["# Evaluation report", "", _run_table(metrics.get("run", {})), ""]
    for section, title in _SECTION_TITLES.items():
        if metrics.get(section):
            parts += [f"## {title}", "", _metric_table(metrics[section]), ""]
    if metrics.get("quiz"):
        parts += ["## News quiz: open answers and answer recall (rag, and the plain LangChain pipeline)", "",
                  _quiz_tables(metrics["quiz"]), ""]
    if metrics.get("judge_gate"):
        parts += ["## Judge gate: coverage and precision as its threshold moves", "", _gate_table(metrics["judge_gate"]), ""]
    if metrics.get("latency"):
        parts += ["## Latency (seconds)", "", _latency_table(metrics["latency"]), ""]
    if plots:
        parts += ["## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in plots] + [""]
    parts += ["## Questions", "", _question_table(rows, metrics.get("run", {}).get("k", 5)), ""]
    failures = [r for r in rows if not r["pass"]]
    if failures:
        parts += ["## Failures", ""] + [_failure(r) for r in failures]
    return "\n".join(parts) + "\n"


def _cell(value: Any) -> str:
    """A table cell: numbers to 3 decimals, text escaped for markdown tables."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _run_table(run: dict[str, Any]) -> str:
    return _table(["setting", "value"], [[key, value] for key, value in run.items()]) if run else ""


def _metric_table(section: dict[str, Any]) -> str:
    return _table(["metric", "value", "meaning"], [[key, value, _meaning(key)] for key, value in section.items()])


def _meaning(key: str) -> str:
    """A few words on what a metric measures (see docs/eval.md for the definitions)."""
    return next((text for prefix, text in _MEANING.items() if key == prefix or prefix.endswith("@") and key.startswith(prefix)), "")


def _quiz_tables(quiz: dict[str, Any]) -> str:
    """The quiz figures, the baseline's verdicts, and the near misses listed for a human read."""
    scalars = {k: v for k, v in quiz.items() if not isinstance(v, (dict, list))}
    parts = [_metric_table(scalars)]
    if quiz.get("misses"):
        parts += ["", "Misses by kind (rag.eval.quiz.miss_kind):", "",
                  _table(["kind", "questions"], sorted(quiz["misses"].items(), key=lambda kv: -kv[1]))]
    if quiz.get("baseline"):
        parts += ["", "Plain LangChain pipeline, same questions and model:", "", _metric_table(quiz["baseline"])]
    if quiz.get("near_misses"):
        parts += ["", "Answers naming none of the choices (counted wrong; read them: some say the right thing in "
                  "other words):", "", _table(["id", "answer", "right choice"],
                                               [[m["id"], _short(m["answer"], 160), m["right"]] for m in quiz["near_misses"]])]
    return "\n".join(parts)


def _gate_table(gate: dict[str, Any]) -> str:
    """The judge's AUC (answerable vs unanswerable) and the risk-coverage curve, one row per threshold."""
    head = f"AUC of the judge's best passage score, answerable against unanswerable: {_cell(gate.get('auc'))} " \
           f"({gate['n']} questions). Below the run's own threshold the curve is flat (those questions were declined)."
    rows = [[p["threshold"], p["coverage"], p["precision"], p["refusal_rate"], p["false_refusal_rate"]]
            for p in gate["curve"]]
    return head + "\n\n" + _table(["threshold", "answered", "precision", "refusal", "false refusal"], rows)


def _latency_table(latency: dict[str, Any]) -> str:
    return _table(["stage", "p50", "p95", "n"], [[stage, v["p50"], v["p95"], v["n"]] for stage, v in latency.items()])


def _question_table(rows: list[dict[str, Any]], k: int) -> str:
    """One line per question with its headline scores."""
    header = ["id", "kind", "pass", "answer", "F1", "must", f"hit@{k}", "nDCG@10", "quotes ok", "refused", "total s"]
    body = []
    for r in rows:
        s = r["scores"]
        retrieval = s.get("retrieval") or s.get("retrieval_docs") or {}
        hit = retrieval.get(f"hit@{k}")
        cites = s.get("citations")
        body.append([r["id"], r.get("kind"), "PASS" if r["pass"] else "FAIL", _short(r.get("answer"), 90),
                     s.get("answer", {}).get("f1"), s.get("answer", {}).get("must_pass"), hit, retrieval.get("ndcg@10"),
                     f"{int(cites['verified'])}/{int(cites['count'])}" if cites else None, r.get("refused"),
                     (r.get("timings") or {}).get("total")])
    return _table(header, body)


def _short(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _failure(row: dict[str, Any]) -> str:
    """What went wrong on one question: gold, answer and the top retrieved sources."""
    gold = row["gold"]
    top = ", ".join(f"{p['source']}{'*' if p.get('gold_quotes') or p.get('gold_sources') else ''}"
                    for p in row.get("retrieved", [])[:5])
    lines = [f"### {row['id']}: {_cell(row['question'])}", "", f"- why: {failure_reason(row)}",
             f"- gold answers: {_cell(' | '.join(gold['answers']) or '(unanswerable)')}"]
    if row.get("answer") is not None:
        lines.append(f"- answer: {_cell(_short(row['answer'], 400))}")
    lines += [f"- top retrieved (* = holds gold evidence): {_cell(top) or '(none)'}", ""]
    return "\n".join(lines)


def failure_reason(row: dict[str, Any]) -> str:
    """The likely cause of a failed question, in words."""
    early = _unjudged_answer_reason(row)
    if early is not None:
        return early
    reasons = [reason for check in _ANSWER_CHECKS if (reason := check(row)) is not None]
    return ", ".join(reasons) or "answer does not match a gold answer"


def _unjudged_answer_reason(row: dict[str, Any]) -> str | None:
    """Why a question failed before its answer could be judged (retrieval only, unanswerable, declined), or None."""
    if "answer" not in row["scores"]:
        return "the judge gate would answer it" if not row["answerable"] else "no gold evidence in the top k passages"
    if not row["answerable"]:
        return "answered a question the documents do not answer"
    if row.get("refused"):
        return f"declined ({row.get('refusal_reason') or 'refused'})"
    return None


def _unverified_quotes(row: dict[str, Any]) -> str | None:
    """How many cited quotes are not verbatim in their source, or None when all are."""
    cites = row["scores"]["citations"]
    if cites["verified"] < cites["count"]:
        return f"{int(cites['count'] - cites['verified'])} quote(s) not found verbatim in the source"
    return None


def _passages_without_evidence(row: dict[str, Any]) -> str | None:
    """A note when the model saw no passage holding gold evidence (and the question has some), else None."""
    if not any(p.get("gold_quotes") or p.get("gold_sources") for p in row.get("passages", [])) and row["gold"]["evidence"]:
        return "the passages shown to the model hold no gold evidence"
    return None


def _missing_keywords(row: dict[str, Any]) -> str | None:
    """The required keyword groups absent from the answer when must_pass failed, else None."""
    if row["scores"]["answer"].get("must_pass") == 0.0:
        missing = [g for g in row["gold"]["must"] or [] if not any(a.lower() in row["answer"].lower() for a in g)]
        return "answer lacks " + "; ".join("/".join(g) for g in missing)
    return None


_ANSWER_CHECKS: tuple[Callable[[dict[str, Any]], str | None], ...] = (
    _unverified_quotes, _passages_without_evidence, _missing_keywords)


# ---------------------------------------------------------------- plots


def write_plots(out_dir: Path, rows: list[dict[str, Any]]) -> list[Path]:
    """PNG plots (Agg backend): per-question score distributions and latency per stage."""
    import matplotlib

    matplotlib.use("Agg")
    folder = Path(out_dir) / PLOTS
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    distributions = _score_distributions(rows)
    if distributions:
        written.append(_plot_distributions(distributions, folder / "scores.png"))
    stages = stage_times(rows)
    if stages:
        written.append(_plot_latency(stages, folder / "latency.png"))
    return written


def _score_distributions(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per-question values of the headline scores that the run has."""
    wanted = [("retrieval", "recall@10"), ("retrieval", "ndcg@10"), ("retrieval_docs", "ndcg@10"),
              ("answer", "f1"), ("answer", "semantic_similarity"), ("citations", "precision")]
    found = {}
    for section, key in wanted:
        values = [r["scores"][section][key] for r in rows if key in r["scores"].get(section, {})]
        if values:
            found[f"{section} {key}"] = values
    return found


def _plot_distributions(distributions: dict[str, list[float]], path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(distributions), figsize=(3.2 * len(distributions), 2.8), squeeze=False)
    for ax, (name, values) in zip(axes[0], distributions.items()):
        ax.hist(values, bins=[i / 10 for i in range(11)], color="#4c72b0", edgecolor="white")
        ax.set_title(name, fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_xlabel("score per question", fontsize=8)
    axes[0][0].set_ylabel("questions")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _plot_latency(stages: dict[str, list[float]], path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.6 * len(stages) + 2, 3))
    ax.boxplot(list(stages.values()), showfliers=True)
    ax.set_xticks(range(1, len(stages) + 1), list(stages))
    ax.set_ylabel("seconds")
    ax.set_title("latency per stage")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
