"""Receipts as regression fixtures: `rag eval --receipts FOLDER` re-checks each receipt offline and asks its
question again, passing when the receipt still verifies and the new answer cites the same quotes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import RagError
from ..search.filters import parse_as_of
from ..text import normalise
from ..types import Answer


@dataclass
class ReceiptRun:
    """One receipt re-run: did it verify, and does the answer cite the same quotes now."""

    file: str
    question: str
    problems: list[str] = field(default_factory=list)  # what `rag verify` finds changed
    missing: list[str] = field(default_factory=list)  # quotes the receipt cites that the new answer does not
    new: list[str] = field(default_factory=list)  # quotes the new answer cites that the receipt does not
    refused_now: bool = False

    @property
    def passed(self) -> bool:
        """Verified, and no quote of the receipt lost."""
        return not self.problems and not self.missing

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the verdict."""
        return {**asdict(self), "passed": self.passed}


def rerun_receipts(folder: Path, settings: Settings, assistant: Any = None) -> list[ReceiptRun]:
    """Re-run every *.json receipt of a folder (sorted by name) with the current index and model."""
    from ..checks.receipt import read_receipt, verify_receipt

    files = sorted(Path(folder).glob("*.json"))
    if not files:
        raise RagError(f"no receipts (*.json) in {folder}: write some with rag ask QUESTION --receipt FILE")
    if assistant is None:
        from ..answer.assistant import Assistant

        assistant = Assistant(settings)
    runs = []
    for path in files:
        receipt = read_receipt(path)
        run = ReceiptRun(file=path.name, question=receipt["question"])
        run.problems = verify_receipt(receipt, base=path.parent).problems
        filters = _filters(receipt)
        answer = assistant.ask(receipt["question"], filters=filters, as_of=parse_as_of(filters.as_of))
        _compare(run, receipt, answer)
        runs.append(run)
    return runs


def _filters(receipt: dict[str, Any]):
    """The source/date filters the receipt's question was asked with."""
    from ..search.filters import Filters

    return Filters(**(receipt.get("filters") or {}))


def _compare(run: ReceiptRun, receipt: dict[str, Any], answer: Answer) -> None:
    """Quotes lost and gained between the receipt and the new answer (compared by source and folded text)."""
    before = {(q["source"], normalise(q["quote"])): q for q in receipt["quotes"]}
    after = {(c.source, normalise(c.quote)): c for c in answer.citations}
    run.missing = [f"{key[0]}: \"{before[key]['quote'][:80]}\"" for key in before if key not in after]
    run.new = [f"{key[0]}: \"{after[key].quote[:80]}\"" for key in after if key not in before]
    run.refused_now = answer.refused and not receipt.get("refused")


def format_results(runs: list[ReceiptRun]) -> str:
    """One line per receipt and what changed under it, then the count that passed."""
    lines = []
    for run in runs:
        lines.append(f"{'PASS' if run.passed else 'FAIL'}  {run.file}  {run.question[:70]}")
        lines += [f"      changed: {p}" for p in run.problems]
        lines += [f"      no longer cited: {m}" for m in run.missing]
        lines += [f"      newly cited: {n}" for n in run.new]
        if run.refused_now:
            lines.append("      now declined")
    lines.append(f"{sum(r.passed for r in runs)} of {len(runs)} receipts pass")
    return "\n".join(lines)
