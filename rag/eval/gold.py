"""Gold question sets: the JSONL format, loading and validation (one-line errors for bad lines)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RagError


class GoldFormatError(RagError):
    """A gold file is missing, empty or holds a malformed line."""


@dataclass
class Evidence:
    """A verbatim quote from a source that supports a gold answer."""

    source: str
    quote: str


@dataclass
class GoldItem:
    """One gold question.

    `evidence` holds quote-level support (seed_dev, CLAPNQ); `relevant_sources` holds
    source-level relevance (SciFact, BEIR-style), used when a set has no quotes.
    """

    id: str
    question: str
    answers: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    answerable: bool = True
    kind: str | None = None
    must: list[list[str]] | None = None
    relevant_sources: list[str] = field(default_factory=list)
    as_of: str | None = None  # the day the question is asked from (YYYY-MM-DD); nothing published later is read
    choices: list[str] = field(default_factory=list)  # a quiz's options; the right one is answers[0]

    def __post_init__(self) -> None:
        self.evidence = [e if isinstance(e, Evidence) else Evidence(**e) for e in self.evidence]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the line format `load_gold` reads)."""
        return asdict(self)


def load_gold(path: str | Path) -> list[GoldItem]:
    """Read a gold JSONL file; raises GoldFormatError naming the file and line of the first bad line."""
    path = Path(path)
    if not path.is_file():
        raise GoldFormatError(f"gold file {path} not found: pass a JSONL file of questions (see docs/eval.md)")
    items, seen = [], set()
    with open(path, encoding="utf-8-sig", errors="strict") as fh:
        try:
            lines = list(enumerate(fh, start=1))
        except UnicodeDecodeError as exc:
            raise GoldFormatError(f"{path} is not UTF-8 text ({exc.reason}): save it as UTF-8 JSONL") from exc
    for number, line in lines:
        if not line.strip():
            continue
        item = parse_gold_line(line, f"{path}:{number}")
        if item.id in seen:
            raise GoldFormatError(f"{path}:{number}: duplicate id {item.id!r}: give every question a unique id")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise GoldFormatError(f"{path} holds no questions: add one JSON object per line (see docs/eval.md)")
    return items


def parse_gold_line(line: str, where: str = "line") -> GoldItem:
    """One JSONL line -> GoldItem, or GoldFormatError saying what is wrong."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise GoldFormatError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise GoldFormatError(f"{where}: expected a JSON object with id, question, answers, evidence, answerable")
    problem = _validation_problem(data)
    if problem:
        raise GoldFormatError(f"{where}: {problem}")
    return GoldItem(
        id=str(data["id"]),
        question=data["question"].strip(),
        answers=list(data.get("answers") or []),
        evidence=[Evidence(e["source"], e["quote"]) for e in data.get("evidence") or []],
        answerable=bool(data.get("answerable", True)),
        kind=data.get("kind"),
        must=data.get("must") or None,
        relevant_sources=[str(s) for s in data.get("relevant_sources") or []],
        as_of=data.get("as_of") or None,
        choices=list(data.get("choices") or []),
    )


def _validation_problem(data: dict[str, Any]) -> str | None:
    """The first thing wrong with a gold record, or None."""
    return next((problem for is_valid, problem in _GOLD_RULES if not is_valid(data)), None)


def _has_id(data: dict[str, Any]) -> bool:
    """An 'id' that is not blank."""
    return "id" in data and bool(str(data["id"]).strip())


def _has_question(data: dict[str, Any]) -> bool:
    """A non-empty 'question' string."""
    return isinstance(data.get("question"), str) and bool(data["question"].strip())


def _answers_are_strings(data: dict[str, Any]) -> bool:
    """'answers', when given, is a list of strings."""
    return _is_str_list(data.get("answers", []))


def _evidence_is_quotes(data: dict[str, Any]) -> bool:
    """'evidence', when given, is a list of {"source": str, "quote": str} objects."""
    evidence = data.get("evidence", [])
    return isinstance(evidence, list) and all(_is_quote(e) for e in evidence)


def _is_quote(evidence: Any) -> bool:
    """One evidence object with string 'source' and 'quote'."""
    return (isinstance(evidence, dict) and isinstance(evidence.get("source"), str)
            and isinstance(evidence.get("quote"), str))


def _answerable_is_bool(data: dict[str, Any]) -> bool:
    """'answerable', when given, is true or false."""
    return "answerable" not in data or isinstance(data["answerable"], bool)


def _must_is_keyword_groups(data: dict[str, Any]) -> bool:
    """'must', when given, is a list of non-empty lists of strings."""
    must = data.get("must")
    return must is None or (isinstance(must, list) and all(_is_str_list(group) and group for group in must))


def _relevant_sources_are_strings(data: dict[str, Any]) -> bool:
    """'relevant_sources', when given, is a list of strings."""
    return _is_str_list(data.get("relevant_sources", []))


# (check, problem reported when the check fails), in the order the problems are reported
_GOLD_RULES: tuple[tuple[Callable[[dict[str, Any]], bool], str], ...] = (
    (_has_id, "missing 'id'"),
    (_has_question, "missing or empty 'question'"),
    (_answers_are_strings, "'answers' must be a list of strings"),
    (_evidence_is_quotes, "'evidence' must be a list of {\"source\": ..., \"quote\": ...} objects"),
    (_answerable_is_bool, "'answerable' must be true or false"),
    (_must_is_keyword_groups,
     "'must' must be a list of non-empty lists of strings, e.g. [[\"Macron\"], [\"2018\", \"2019\"]]"),
    (_relevant_sources_are_strings, "'relevant_sources' must be a list of strings"),
    (lambda data: _is_iso_day(data.get("as_of")), "'as_of' must be a date written YYYY-MM-DD"),
    (lambda data: _is_str_list(data.get("choices", [])), "'choices' must be a list of strings"),
)


def _is_iso_day(value: Any) -> bool:
    """None, or a YYYY-MM-DD string that is a real day."""
    if value is None:
        return True
    try:
        return isinstance(value, str) and len(value) == 10 and bool(dt.date.fromisoformat(value))
    except ValueError:
        return False


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def save_gold(items: list[GoldItem], path: str | Path) -> None:
    """Write gold items as JSONL (e.g. a converted CLAPNQ or SciFact set)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(item.to_dict(), ensure_ascii=False) + "\n" for item in items)
