"""Indexing and query speed: first index vs unchanged re-index (ratio), query latency p50/p95 per mode.

    .venv/bin/python benchmarks/index_speed.py [--scifact-first] [--queries N]

Sample corpus: indexed from scratch three times (median), then re-indexed unchanged and after one edit.
SciFact: the unchanged re-index of index/scifact always; the first build (10-40 min) only with --scifact-first.
Query latency is measured on index/scifact with the validation claims, after a warm-up query.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from common import INDEX_ROOT, REPO, SHARED, dataset, embedder, p50_p95, settings_for, table, timed


def sample_corpus_times(work: Path) -> list[list[object]]:
    """First-index (median of 3), unchanged and one-file-changed re-index times of examples/corpus."""
    from rag.index.build import index_paths

    corpus = work / "corpus"
    shutil.copytree(REPO / "examples" / "corpus", corpus)
    model = embedder()
    firsts = []
    for run in range(3):
        settings = settings_for(work / f"index-{run}")
        seconds, report = timed(lambda: index_paths([corpus], settings, model))
        firsts.append(seconds)
    first = statistics.median(firsts)
    unchanged, report = timed(lambda: index_paths([corpus], settings, model))
    assert not report.changed, "an unchanged corpus must not be rewritten"
    edited = next(corpus.glob("002_*"))
    edited.write_text(edited.read_text(encoding="utf-8") + "\n\nOne more paragraph.\n", encoding="utf-8")
    one_changed, report = timed(lambda: index_paths([corpus], settings, model))
    return [["sample corpus (5 files), first build", first, "1x"],
            ["sample corpus, re-index unchanged", unchanged, _faster(first, unchanged)],
            [f"sample corpus, re-index 1 changed file ({report.embedded_chunks} chunks embedded)", one_changed,
             _faster(first, one_changed)]]


def _faster(baseline: float, seconds: float) -> str:
    """How many times faster than the baseline."""
    return f"{baseline / seconds:.0f}x faster" if seconds > 0 else "-"


def scifact_times(work: Path, first_build: bool, index_root: Path, shared: Path) -> list[list[object]]:
    """Unchanged re-index of the SciFact index; the first build too when asked."""
    from rag.eval.datasets import scifact_documents
    from rag.index.build import update_index

    _, folder = dataset("scifact", index_root, shared)
    unchanged, report = timed(lambda: update_index(settings_for(folder), scifact_documents(shared), embedder()))
    rows = [[f"SciFact ({report.documents} abstracts, {report.chunks} chunks), re-index unchanged", unchanged, ""]]
    if first_build:
        fresh = settings_for(work / "scifact")
        first, _ = timed(lambda: update_index(fresh, scifact_documents(shared), embedder(), progress=True))
        rows.insert(0, ["SciFact, first build", first, "1x"])
        rows[1][2] = _faster(first, unchanged)
    return rows


def query_latency(index_root: Path, shared: Path, n: int) -> list[list[object]]:
    """p50/p95 milliseconds of Retriever.search per mode (query embedding included)."""
    from rag.eval.datasets import scifact_gold
    from rag.search.retriever import Retriever

    _, folder = dataset("scifact", index_root, shared)
    questions = [g.question for g in scifact_gold(shared)][:n]
    rows = []
    for mode in ("dense", "lexical", "hybrid"):
        retriever = Retriever(settings_for(folder, mode=mode), embedder=embedder())
        retriever.search("warm-up question", k=5)
        seconds = [timed(lambda q=q: retriever.search(q, k=5))[0] for q in questions]
        p50, p95 = p50_p95(seconds)
        rows.append([mode, p50, p95])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact-first", action="store_true", help="also time a first SciFact build (slow)")
    parser.add_argument("--queries", type=int, default=300, help="SciFact claims timed per mode")
    parser.add_argument("--index-root", type=Path, default=INDEX_ROOT)
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        rows = sample_corpus_times(Path(tmp))
        rows += scifact_times(Path(tmp), args.scifact_first, args.index_root, args.shared)
    print(table(["indexing run", "seconds", "vs the first build"], rows))
    print()
    print(table(["mode", "p50 ms", "p95 ms"], query_latency(args.index_root, args.shared, args.queries)))


if __name__ == "__main__":
    main()
