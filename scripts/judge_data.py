"""Training and test pairs for the judge (scripts/train_judge.py): built from CLAPNQ dev with spaCy, seeded.

Two kinds of pair, one label each (1 = yes):
  * answerability: (question, passage or sentence): does the text state the answer to the question?
  * support: (question + claim, quote): does the quote back the claim?
The judge reads a pair as BERT's two segments; the first starts with "question:" or "claim:" so one head learns both.

CLAPNQ lines 151-180 of each file are the untouched report split and are never read here; lines 121-150 and
181-210 are the calibration split (thresholds are chosen on them); the rest trains. Negatives are made the
way FactCC and MiniCheck make them: a name, place, number or date swapped for another of the same type from
the same document, a negated verb, a claim moved onto another sentence of the same passage, the same question
against a passage that lacks its answer.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.eval.datasets import CLAPNQ_SPLITS
from rag.judge.pairs import claim_text, question_text

REPORT_LINES = CLAPNQ_SPLITS["report"]  # 1-based line numbers of each CLAPNQ file: never read here
CALIBRATION_LINES = CLAPNQ_SPLITS["calibration"]
# Entity types a swap may replace, grouped so a swap stays within a kind (a person for a person, a year for a year).
SWAP_GROUPS = {
    "PERSON": "PERSON", "ORG": "ORG", "GPE": "PLACE", "LOC": "PLACE", "FAC": "PLACE", "NORP": "NORP",
    "DATE": "DATE", "CARDINAL": "NUMBER", "QUANTITY": "NUMBER", "MONEY": "NUMBER", "PERCENT": "NUMBER",
    "ORDINAL": "ORDINAL", "EVENT": "EVENT", "WORK_OF_ART": "WORK", "LAW": "LAW", "PRODUCT": "PRODUCT",
    "LANGUAGE": "LANGUAGE", "TIME": "TIME",
}


@dataclass(frozen=True)
class Pair:
    """One training example: the judge's two segments and the label (1 = answers / supports)."""

    first: str
    second: str
    label: int
    kind: str  # where it came from, e.g. "support/swap:PERSON" (reported per kind)


@dataclass
class Record:
    """One CLAPNQ question with its passage, detokenised."""

    question: str
    title: str
    sentences: list[str]
    answer: str  # "" when the passage does not answer
    selected: list[str]  # the sentences annotators marked as holding the answer


def question_pair(question: str, text: str, label: int, kind: str) -> Pair:
    """An answerability pair as the judge reads it at run time."""
    return Pair(question_text(question), text, label, f"answer/{kind}")


def support_pair(question: str, claim: str, quote: str, label: int, kind: str) -> Pair:
    """A support pair as the judge reads it at run time (the question may be empty)."""
    return Pair(claim_text(claim, question), quote, label, f"support/{kind}")


# --------------------------------------------------------------------------- reading CLAPNQ

_DETOKENISE = [
    (re.compile(r"\s+([.,;:!?%)\]])"), r"\1"), (re.compile(r"([(\[$])\s+"), r"\1"), (re.compile(r"\s+('s|n't|'re|'ve|'ll|'d|'m)\b"), r"\1"),
    (re.compile(r"``\s*|\s*''"), '"'), (re.compile(r"\s+--\s+"), " - "), (re.compile(r"(\w) - (\w)"), r"\1-\2"),
    (re.compile(r"\s{2,}"), " "),
]


def detokenise(text: str) -> str:
    """CLAPNQ's tokenised Wikipedia text ("year , the `` season ''") back to ordinary prose."""
    for pattern, replacement in _DETOKENISE:
        text = pattern.sub(replacement, text)
    return text.strip()


def read_clapnq(folder: Path, lines: set[int] | None = None, exclude: set[int] = frozenset()) -> list[Record]:
    """Records of both CLAPNQ files whose 1-based line number is in `lines` (all when None) and not in `exclude`."""
    records = []
    for name in ("clapnq_dev_answerable.jsonl", "clapnq_dev_unanswerable.jsonl"):
        with open(folder / name, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if number in REPORT_LINES or number in exclude or (lines is not None and number not in lines):
                    continue
                records.append(_record(json.loads(line)))
    return records


def _record(raw: dict) -> Record:
    """One JSON line as a Record."""
    passage = raw["passages"][0]
    output = (raw.get("output") or [{}])[0]
    return Record(
        question=raw["input"].strip().rstrip("?") + "?",
        title=passage.get("title", ""),
        sentences=[detokenise(s) for s in passage.get("sentences") or [] if s.strip()],
        answer=detokenise(output.get("answer") or ""),
        selected=[detokenise(s) for s in output.get("selected_sentences") or []],
    )


# --------------------------------------------------------------------------- answerability pairs


def windows(sentences: Sequence[str], words: int = 120) -> Iterator[tuple[int, int]]:
    """(start, end) sentence ranges of about `words` words, as the index's chunker makes passages."""
    start = 0
    while start < len(sentences):
        end, count = start, 0
        while end < len(sentences) and (count == 0 or count + len(sentences[end].split()) <= words):
            count += len(sentences[end].split())
            end += 1
        yield start, end
        if end >= len(sentences):
            return
        start = max(start + 1, end - 1)


def answerability_pairs(records: Sequence[Record], rng: random.Random) -> list[Pair]:
    """Question against its passage's windows and sentences, and against other records' passages."""
    pairs: list[Pair] = []
    for index, record in enumerate(records):
        selected = set(record.selected)
        for start, end in windows(record.sentences):
            text = " ".join(record.sentences[start:end])
            holds = bool(record.answer) and any(s in selected for s in record.sentences[start:end])
            kind = "passage" if holds else ("unanswerable" if not record.answer else "window-without-answer")
            pairs.append(question_pair(record.question, text, int(holds), kind))
        for sentence in record.sentences:
            holds = bool(record.answer) and sentence in selected
            if holds or rng.random() < 0.2:
                pairs.append(question_pair(record.question, sentence, int(holds), "sentence"))
        other = records[rng.randrange(len(records))]
        if other is not record and other.sentences:
            pairs.append(question_pair(record.question, " ".join(other.sentences[:6]), 0, "other-passage"))
    return pairs


def nearest_other_passages(records: Sequence[Record], embed, rng: random.Random, per_record: int = 1) -> list[Pair]:
    """Each answerable question against the most similar passage of another record (a hard negative)."""
    import numpy as np

    answerable = [r for r in records if r.answer]
    passages = [" ".join(r.sentences[:6]) for r in records]
    questions = embed([r.question for r in answerable])
    vectors = embed(passages)
    pairs = []
    for record, vector in zip(answerable, questions):
        order = np.argsort(-(vectors @ vector))
        picked = [i for i in order[:6] if records[i] is not record and records[i].title != record.title][:per_record]
        pairs += [question_pair(record.question, passages[i], 0, "similar-passage") for i in picked]
    return pairs
