"""Compare two eval runs: which metrics and which questions got better or worse."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .runner import load_run

_LOWER_IS_BETTER = ("latency.", "refusal.false_refusal_rate")
_QUESTION_SCORES = [("retrieval", "recall@10"), ("retrieval", "ndcg@10"), ("retrieval_docs", "ndcg@10"),
                    ("answer", "f1"), ("answer", "must_pass"), ("answer", "semantic_similarity"),
                    ("citations", "precision"), ("citations", "recall"), ("judge", "correct")]
EPSILON = 1e-9


@dataclass
class MetricChange:
    """One metric in both runs; `better` is None when the metric has no direction or did not change."""

    name: str
    a: float | None
    b: float | None
    delta: float | None
    better: bool | None


@dataclass
class QuestionChange:
    """A question whose pass/fail or headline scores differ between the runs."""

    id: str
    passed_a: bool
    passed_b: bool
    scores: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """'better', 'worse' or 'changed' (scores moved both ways or pass/fail unchanged with mixed scores)."""
        if self.passed_a != self.passed_b:
            return "better" if self.passed_b else "worse"
        ups = sum((b or 0.0) > (a or 0.0) for a, b in self.scores.values())
        downs = sum((b or 0.0) < (a or 0.0) for a, b in self.scores.values())
        return "better" if ups and not downs else "worse" if downs and not ups else "changed"


@dataclass
class Comparison:
    """Metric and question differences from run A to run B."""

    run_a: str
    run_b: str
    metrics: list[MetricChange]
    questions: list[QuestionChange]
    only_a: list[str]
    only_b: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        for q, obj in zip(data["questions"], self.questions):
            q["verdict"] = obj.verdict
        return data


def flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'retrieval': {'ndcg@10': x}} -> {'retrieval.ndcg@10': x}."""
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def direction(name: str) -> int:
    """+1 when higher is better, -1 when lower is better, 0 for counts."""
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "n" or leaf.startswith("n_") or name == "citations.citations":
        return 0
    return -1 if name.startswith(_LOWER_IS_BETTER) else 1


def _significant(name: str, a: float | None, delta: float | None) -> bool:
    """Whether a change counts: latencies must move by 10% and 10 ms (timing noise), scores by any amount."""
    if delta is None or abs(delta) < EPSILON:
        return False
    return not name.startswith("latency.") or abs(delta) >= max(0.1 * abs(a or 0.0), 0.01)


def metric_changes(a: dict[str, Any], b: dict[str, Any]) -> list[MetricChange]:
    """Every numeric metric of either run, with its change."""
    flat_a, flat_b = flatten({k: v for k, v in a.items() if k != "run"}), flatten({k: v for k, v in b.items() if k != "run"})
    changes = []
    for name in list(dict.fromkeys([*flat_a, *flat_b])):
        va, vb = flat_a.get(name), flat_b.get(name)
        if not all(v is None or isinstance(v, (int, float)) for v in (va, vb)) or (va is None and vb is None):
            continue
        delta = vb - va if va is not None and vb is not None else None
        sign = direction(name)
        better = None if sign == 0 or not _significant(name, va, delta) else (delta * sign > 0)
        changes.append(MetricChange(name, va, vb, delta, better))
    return changes


def question_changes(rows_a: list[dict[str, Any]], rows_b: list[dict[str, Any]]) -> list[QuestionChange]:
    """Questions (matched by id) whose pass/fail or headline scores differ."""
    by_id = {r["id"]: r for r in rows_a}
    changes = []
    for rb in rows_b:
        ra = by_id.get(rb["id"])
        if ra is None:
            continue
        moved = {}
        for section, key in _QUESTION_SCORES:
            va, vb = ra["scores"].get(section, {}).get(key), rb["scores"].get(section, {}).get(key)
            if (va is None) != (vb is None) or (va is not None and abs(vb - va) > EPSILON):
                moved[f"{section}.{key}"] = (va, vb)
        if moved or ra["pass"] != rb["pass"]:
            changes.append(QuestionChange(rb["id"], bool(ra["pass"]), bool(rb["pass"]), moved))
    return changes


def compare_runs(run_a: Path, run_b: Path) -> Comparison:
    """Load two run folders and compare them."""
    metrics_a, rows_a = load_run(run_a)
    metrics_b, rows_b = load_run(run_b)
    ids_a, ids_b = [r["id"] for r in rows_a], [r["id"] for r in rows_b]
    return Comparison(str(run_a), str(run_b), metric_changes(metrics_a, metrics_b), question_changes(rows_a, rows_b),
                      [i for i in ids_a if i not in set(ids_b)], [i for i in ids_b if i not in set(ids_a)])


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


_MARKS = {True: "better", False: "worse", None: ""}
_VERDICTS = ("better", "worse", "changed")


def format_comparison(comparison: Comparison, show_unchanged: bool = False, max_questions: int = 25) -> str:
    """Plain-text summary: changed metrics, then better and worse questions."""
    lines = [f"A: {comparison.run_a}", f"B: {comparison.run_b}", "", "Metrics (A -> B):"]
    lines += _metric_lines(comparison.metrics, show_unchanged)
    for verdict in _VERDICTS:
        lines += _verdict_section(comparison.questions, verdict, max_questions)
    if not comparison.questions:
        lines += ["", "No question changed."]
    lines += _only_in_one_run(comparison)
    return "\n".join(lines)


def _metric_lines(metrics: list[MetricChange], show_unchanged: bool) -> list[str]:
    """One aligned line per metric to show (all of them with show_unchanged)."""
    width = max((len(c.name) for c in metrics), default=10)
    return [_metric_line(c, width) for c in metrics if show_unchanged or _worth_showing(c)]


def _worth_showing(change: MetricChange) -> bool:
    """A metric with a direction that changed significantly or is missing from one run."""
    unchanged = change.delta is not None and not _significant(change.name, change.a, change.delta)
    return not (direction(change.name) == 0 or unchanged)


def _metric_line(change: MetricChange, width: int) -> str:
    """'name  a -> b  delta  better/worse' for one metric, the name padded to width."""
    mark = _MARKS[change.better]
    delta = "" if change.delta is None else f"{change.delta:+.3f}"
    return f"  {change.name:<{width}}  {_num(change.a):>8} -> {_num(change.b):<8} {delta:>8}  {mark}".rstrip()


def _verdict_section(questions: list[QuestionChange], verdict: str, max_questions: int) -> list[str]:
    """The questions with one verdict, pass/fail flips first, at most max_questions listed; [] when none."""
    chosen = sorted((q for q in questions if q.verdict == verdict), key=lambda q: q.passed_a == q.passed_b)
    if not chosen:
        return []
    lines = ["", f"Questions {verdict} ({len(chosen)}):"]
    lines += [f"  {q.id}: {_question_line(q)}" for q in chosen[:max_questions]]
    if len(chosen) > max_questions:
        lines.append(f"  ... and {len(chosen) - max_questions} more (all with --json)")
    return lines


def _only_in_one_run(comparison: Comparison) -> list[str]:
    """Lines naming the questions that only run A or only run B holds."""
    lines: list[str] = []
    for label, ids in (("only in A", comparison.only_a), ("only in B", comparison.only_b)):
        if ids:
            lines += ["", f"Questions {label}: {', '.join(ids)}"]
    return lines


def _question_line(q: QuestionChange) -> str:
    status = f"{'PASS' if q.passed_a else 'FAIL'} -> {'PASS' if q.passed_b else 'FAIL'}"
    moved = "; ".join(f"{name} {_num(a)} -> {_num(b)}" for name, (a, b) in q.scores.items())
    return f"{status}" + (f"; {moved}" if moved else "")
