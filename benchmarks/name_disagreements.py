"""Disagreement on names, scored on tests/data/who-questions.jsonl: 43 "who" questions, each over two short
reports by different outlets, 22 where they name different doers (active, passive, "according to", two
ministries, two people sharing a surname) and 21 where they do not (the same doer by full name and surname, by
name and role, in the passive, in capitals or without accents, "also", a negation, a name that is not the doer).

    .venv/bin/python benchmarks/name_disagreements.py [--misses]

Flagged = the name rule (rag/news/disagree_names.py) returns a disagreement. Precision = flagged and real /
flagged; recall = flagged and real / real. The set is written for issue #27 (spaCy doers) to measure before and
after; nothing was tuned on it.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

from common import REPO, table

SET = REPO / "tests" / "data" / "who-questions.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every question scored wrong")
    args = parser.parse_args()

    from rag.news.disagree_names import find_name_disagreements
    from rag.types import Passage

    counts, misses = Counter(), []
    for item in map(json.loads, SET.read_text(encoding="utf-8").splitlines()):
        passages = [Passage(i, d["source"], 0, len(d["text"]), 1.0, d["text"], date=d["date"], outlet=d["outlet"],
                            original=d["text"]) for i, d in enumerate(item["documents"])]
        flagged = bool(find_name_disagreements(item["question"], passages))
        counts[(flagged, item["disagree"])] += 1
        if flagged != item["disagree"]:
            misses.append(f"{'false alarm' if flagged else 'missed'} [{item['kind']}] {item['question']}")
    tp, fp, fn = counts[(True, True)], counts[(True, False)], counts[(False, True)]
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    print(table(["questions", "real", "flagged", "right flags", "false alarms", "missed", "precision", "recall"],
                [[sum(counts.values()), tp + fn, tp + fp, tp, fp, fn, f"{precision:.2f}", f"{recall:.2f}"]]))
    if args.misses:
        print("\n".join(misses))


if __name__ == "__main__":
    main()
