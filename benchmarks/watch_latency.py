"""How soon `rag index --watch` makes an added file searchable: the time from writing the file to its passage
being returned by a search, with a reader searching all along (real embedder, the sample corpus as the folder).

    .venv/bin/python benchmarks/watch_latency.py [--files 5]

The target is 5 s per file. The watcher debounces changes for 0.8 s before it re-indexes (rag/index/watch.py).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from common import SHARED, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5)
    args = parser.parse_args()

    from rag.config import load_settings
    from rag.index.build import index_paths
    from rag.index.embed import embedder_for
    from rag.index.watch import watch_paths
    from rag.service import RagService

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        shutil.copytree(SHARED / "corpus", folder)
        settings = load_settings(index=Path(tmp) / "index")
        embedder = embedder_for(settings.embed, indexing=True)
        index_paths([folder], settings, embedder)
        service = RagService(settings, embedder=embedder_for(settings.embed))
        stop, failures = threading.Event(), []
        watcher = threading.Thread(target=watch_paths, args=([folder], settings, embedder),
                                   kwargs={"stop_event": stop, "on_report": lambda r, line: None})
        watcher.start()
        time.sleep(1.0)
        latencies = []
        for i in range(args.files):
            word = f"zebracorn{i}"
            started = time.perf_counter()
            (folder / f"added_{i}.txt").write_text(f"The {word} herd crossed the steppe on day {i}.\n", encoding="utf-8")
            while True:
                try:
                    if any(word in p.text for p in service.retriever().search(f"{word} herd", k=3)):
                        break
                except Exception as error:  # noqa: BLE001 - a failed search is a finding
                    failures.append(repr(error))
                time.sleep(0.05)
            latencies.append(time.perf_counter() - started)
        stop.set()
        watcher.join(30)
    print(table(["files", "min s", "median s", "max s", "failed searches"],
                [[len(latencies), f"{min(latencies):.2f}", f"{statistics.median(latencies):.2f}",
                  f"{max(latencies):.2f}", len(failures)]]))


if __name__ == "__main__":
    main()
