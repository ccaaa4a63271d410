"""Helpers shared by the benchmark scripts: paths, the real embedder, data-set indexes, timing."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as `python benchmarks/x.py` from anywhere

SHARED = REPO.parent / "shared"
INDEX_ROOT = REPO / "index"


def settings_for(index: Path, **retrieve: object):
    """Default settings pointing at an index, with retrieve.* overrides."""
    from rag.config import Settings

    settings = Settings(index=index)
    for name, value in retrieve.items():
        setattr(settings.retrieve, name, value)
    return settings


def embedder():
    """The default real embedder (packaged all-MiniLM-L6-v2), loaded now so timings exclude loading."""
    from rag.config import Settings
    from rag.index.embed import get_embedder

    cfg = Settings().embed
    model = get_embedder(cfg.model, cfg.batch_size, cfg.device)
    model.embed_query("warm up")
    return model


def dataset(name: str, index_root: Path = INDEX_ROOT, shared: Path = SHARED):
    """(gold items, index folder) of a data set, building its index once under index_root/name."""
    from rag.eval.datasets import prepare_dataset

    return prepare_dataset(name, shared, index_root, settings_for(index_root / name), embedder())


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Seconds taken by fn() and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def p50_p95(seconds: list[float]) -> tuple[float, float]:
    """Median and 95th percentile, in milliseconds."""
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def table(header: list[str], rows: list[list[object]]) -> str:
    """A markdown table; floats with three decimals."""
    def cell(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
