"""Disagreement, shown not smoothed: retrieved passages that give different values for what the question asks.

Deterministic. For a "how many / how much" question, every number in a passage sentence that shares the
question's key terms is a candidate, grouped by its unit ("42 people" and "57 people" are both `people`);
for a "when" question, every date. Each document contributes its best candidate per group; when documents
give different values, each value is shown with a verified quote (cut from the file by offsets) and its
document's outlet and date. The model is not asked: its answer may pick one value, this shows them all.
For a "who" question, the people or bodies the documents name are compared instead (disagree_names.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .dates import find_dates
from ..text import content_words
from ..types import Citation, DisagreeingValue, Disagreement, Passage
from .disagree_names import find_name_disagreements
from ..checks.evidence import Evidence, Sentence, value_citations

_QUANTITY = re.compile(r"\b(?:how (?:many|much|large|big|high|long|far|old)|number of|what (?:percentage|share|"
                       r"proportion|amount|figure|total|toll|price|cost)|death toll|toll|figure)\b", re.I)
_WHEN = re.compile(r"\b(?:when|(?:what|which) (?:date|day|year|month))\b", re.I)
# Words that say what is asked or when, not what about: never key terms.
_ASKING = content_words("how many much number what which when date day year month figure total amount latest newest "
                        "now currently current recent recently today still")
_NUMBER = re.compile(
    r"(?<![\w.,/-])(?P<cur>[$€£] ?)?(?P<num>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?"
    r"(?: ?(?P<scale>million|billion|trillion|thousand|bn)\b)?(?: ?(?P<pct>%|percent\b|per cent\b))?(?![\w/%])"
)
_SCALE = {"thousand": 1e3, "million": 1e6, "bn": 1e9, "billion": 1e9, "trillion": 1e12}
_SKIP = {"more", "other", "of", "the", "new", "additional", "further", "local", "a", "an", "and", "or", "in", "to"}
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_YEAR_NEAR = re.compile(r"\b(?:in|of|since|by|until)\s+((?:19|20)\d\d)\b|\b((?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|"
                        r"nov|dec)[a-z]*\.?\s+(?:19|20)\d\d)\b", re.I)
WINDOW = 6  # words either side of a number that say what it counts
_COUNTED = re.compile(r"\b(?:how many|number of|how much)\s+(?:(?:the|of|a|an)\s+)*(?P<noun>[a-z]+)", re.I)
_NOT_NOUNS = {"did", "do", "does", "is", "was", "are", "were", "has", "have", "will", "would", "can"}
# A death toll has many words ("61 dead", "killed 42 people", "the toll rose to 61"): all stand for "toll".
_TOLL = {"dead", "death", "kille", "died", "die", "victi", "lives", "toll", "casua", "fatal"}
# "<counted noun> ... has risen to 57": words that introduce the number of something named earlier in the clause.
_LINKS = {"to", "at", "was", "is", "were", "are", "reached", "hit", "stood", "stands", "totalled", "totaled", "of",
          "by", "about", "around", "nearly", "almost", "over", "least", "some", "approximately", "than"}
_SIGNS = ("%", "$", "€", "£")


@dataclass
class _Candidate:
    """A value stated in a sentence: its group (unit), its comparable form and how well its context fits."""

    group: str  # what it counts ("counted" for the question's own noun), %, a currency sign, or "date"
    unit: str  # the unit as written
    value: float | str  # number, or ISO date prefix
    shown: str  # as written in the sentence ("42 people", "March 2, 2024")
    sentence: Sentence
    fit: tuple[int, int]  # (counts what the question counts, key terms near it)


@dataclass
class _Asked:
    """What a question asks about: its key terms, the noun it counts, and the terms that tell values apart."""

    terms: set[str]
    counted: set[str]
    toll: bool
    predicate: set[str]  # key terms not shared by every passage (the topic): the value's context must have one


def _stems(text: str, toll: bool) -> set[str]:
    """Content words of `text`, every death-toll word folded to "toll" when the question asks for a toll."""
    words = content_words(text)
    return {"toll" if toll and w in _TOLL else w for w in words}


def find_disagreements(question: str, passages: list[Passage]) -> list[Disagreement]:
    """Values the passages give differently for what the question asks (numbers, dates, names), each with its quote."""
    asks_number, asks_date = bool(_QUANTITY.search(question)), bool(_WHEN.search(question))
    if not (asks_number or asks_date):
        return find_name_disagreements(question, passages)  # "who ordered ...?": different names; else none
    if len({p.source for p in passages}) < 2:
        return []
    asked = _asked(question, passages)
    if not asked.terms:
        return []
    evidence = Evidence(passages)
    candidates: list[_Candidate] = []
    for sentence in evidence.sentences:
        shared = len(asked.terms & _stems(sentence.text, asked.toll))
        if shared == 0:
            continue
        if asks_number:
            candidates += _number_candidates(sentence, asked)
        if asks_date:
            candidates += _dates(sentence, shared)
    found = [d for d in (_disagreement(group, cands, evidence, question) for group, cands in _grouped(candidates)) if d]
    return found[:1]  # the best-fitting group: what the question asks


def _asked(question: str, passages: list[Passage]) -> _Asked:
    """The question's key terms, counted noun and telling terms (see _Asked)."""
    toll = bool(content_words(question) & _TOLL)
    terms = _stems(question, toll) - _ASKING
    match = _COUNTED.search(question)
    noun = match["noun"].lower() if match else ""
    counted = {"toll" if toll and noun[:5] in _TOLL else noun[:5]} if noun and noun not in _NOT_NOUNS else set()
    if toll:
        counted |= {"toll", "peopl"}
    topic = set.intersection(*(_stems(p.text, toll) for p in passages)) if passages else set()
    return _Asked(terms, counted, toll, terms - counted - topic)


def _named_before(text: str, start: int, counted: set[str]) -> str | None:
    """The counted noun named earlier in the clause of a number introduced by "to", "at", "about"... ("the number
    of people killed has risen to 57" -> "people"), else None."""
    clause = re.split(r"[,;:()]|\d[\d,.]*", text[:start])[-1]
    words = re.findall(r"[^\W\d_]+", clause.lower())
    if not words or words[-1] not in _LINKS:
        return None
    return next((w for w in words if w[:5] in counted or ("toll" in counted and w[:5] in _TOLL)), None)


def _number_candidates(sentence: Sentence, asked: _Asked) -> list[_Candidate]:
    """Numbers of a sentence that count what the question counts, or sit near its key terms, with their units."""
    text = sentence.text
    dated = [(a, b) for a, b, _ in find_dates(text)]
    found = []
    for m in _NUMBER.finditer(text):
        if any(a <= m.start() < b for a, b in dated):
            continue  # part of a date
        candidate = _candidate(m, text, sentence, asked)
        if candidate is not None:
            found.append(candidate)
    return found


def _candidate(m: re.Match[str], text: str, sentence: Sentence, asked: _Asked) -> _Candidate | None:
    """One number as a candidate answer, or None when it is a year or about something else than what is asked."""
    unit = _asked_unit(m, text, asked)
    if unit is None or _is_year(m, unit, asked.terms):
        return None
    around = re.findall(r"\w+", text[: m.start()])[-WINDOW:] + re.findall(r"\w+", text[m.end() :])[:WINDOW]
    near = _stems(" ".join(around), asked.toll)
    counts = unit not in _SIGNS and bool(_stems(unit, asked.toll) & asked.counted)
    if (asked.predicate and not asked.predicate & near) or not (counts or asked.terms & near):
        return None  # about something else than what is asked
    value = float(m["num"].replace(",", "") + (f".{m['frac']}" if m["frac"] else "")) * _SCALE.get(
        (m["scale"] or "").lower(), 1)
    shown = text[m.start() : m.end()].strip() + ("" if unit in _SIGNS else f" {unit}")
    group = "counted" if counts else unit if unit in _SIGNS else unit[:5]
    return _Candidate(group, unit, value, shown, sentence, (int(counts), len(asked.terms & near)))


def _asked_unit(m: re.Match[str], text: str, asked: _Asked) -> str | None:
    """The number's unit, or the counted thing named just before it ("deaths rose to 57")."""
    unit = _unit(m, text)
    if unit is not None and unit not in _SIGNS and not _stems(unit, asked.toll) & asked.counted:
        unit = _named_before(text, m.start(), asked.counted) or unit
    return unit


def _is_year(m: re.Match[str], unit: str, terms: set[str]) -> bool:
    """A bare 4-digit number between 1900 and 2100 that does not count an asked thing: a year."""
    bare = not (m["cur"] or m["pct"] or m["frac"] or m["scale"])
    return bare and 1900 <= int(m["num"].replace(",", "")) <= 2100 and unit[:5] not in terms


def _unit(m: re.Match[str], text: str) -> str | None:
    """What a number counts: %, a currency, or the next word that is not filler; None for dates and ordinals."""
    if m["pct"]:
        return "%"
    if m["cur"]:
        return m["cur"].strip()
    words = re.findall(r"[^\W\d_][\w'-]*", text[m.end() : m.end() + 60].lower())[:3]
    word = next((w for w in words if w not in _SKIP), None)
    if word is None or word[:3] in _MONTHS and len(word) <= 9:
        return None  # "9 March": a date
    return word


def _dates(sentence: Sentence, shared: int) -> list[_Candidate]:
    """Dates a sentence states: full dates, else "March 2023" or "in 2023"."""
    full = find_dates(sentence.text)
    found = [_Candidate("date", "", iso, sentence.text[a:b], sentence, (1, shared)) for a, b, iso in full]
    if found:
        return found
    for m in _YEAR_NEAR.finditer(sentence.text):
        shown = m.group(1) or m.group(2)
        year = re.search(r"\d{4}", shown).group()
        month = re.match(r"[a-z]{3}", shown.lower())
        value = f"{year}-{_MONTHS.index(month.group()) + 1:02d}" if month and month.group() in _MONTHS else year
        found.append(_Candidate("date", "", value, shown, sentence, (0, shared)))
    return found


def _grouped(candidates: list[_Candidate]) -> list[tuple[str, list[_Candidate]]]:
    """Candidates by group, the groups fitting the question best first."""
    groups: dict[str, list[_Candidate]] = {}
    for c in candidates:
        groups.setdefault(c.group, []).append(c)
    return sorted(groups.items(), key=lambda g: (-max(c.fit for c in g[1])[0], -len({c.sentence.source for c in g[1]})))


def _disagreement(group: str, candidates: list[_Candidate], evidence: Evidence, question: str) -> Disagreement | None:
    """The group's values per document (best-fitting candidate each); a Disagreement when documents differ."""
    best: dict[str, _Candidate] = {}
    for c in candidates:  # sentences come in passage order: on equal fit, the earlier one stays
        if c.sentence.source not in best or c.fit > best[c.sentence.source].fit:
            best[c.sentence.source] = c
    by_value: dict[str, list[_Candidate]] = {}
    for c in best.values():
        by_value.setdefault(_comparable(c.value), []).append(c)
    if len(by_value) < 2 or _compatible_dates(list(by_value)):
        return None
    values = [DisagreeingValue(cands[0].shown, *_citations(cands, evidence, question)) for cands in by_value.values()]
    values.sort(key=lambda v: v.citation.date or "9999")  # side by side in the order they were published
    return Disagreement(_what(group, candidates[0].unit), values)


def _comparable(value: float | str) -> str:
    """A value's comparison form: numbers to 6 significant digits, dates as they are."""
    return f"{value:.6g}" if isinstance(value, float) else value


def _compatible_dates(values: list[str]) -> bool:
    """True when dates only differ in precision ("2024" and "2024-03-02"): that is no disagreement."""
    if not all(re.fullmatch(r"\d{4}(-\d\d){0,2}", v) for v in values):
        return False
    longest = max(values, key=len)
    return all(longest.startswith(v) for v in values)


def _citations(cands: list[_Candidate], evidence: Evidence, question: str) -> tuple[Citation, list[Citation]]:
    """(the quote for a value, quotes of further documents giving the same value), cut from the files by offsets."""
    return value_citations([(c.sentence, f"{c.shown} {question}") for c in cands], evidence)


def _what(group: str, unit: str) -> str:
    """What the values are, in words."""
    if group == "date":
        return "date"
    if group == "%":
        return "percentage"
    if group in ("$", "€", "£"):
        return f"amount ({group})"
    return f"number of {unit}"
