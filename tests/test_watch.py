"""`rag index --watch`: files added, changed and removed under a watched folder reach the index while a reader
keeps searching without a single failure."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rag.errors import RagError
from rag.index.build import index_paths
from rag.index.watch import watch_paths
from rag.service import RagService

pytest.importorskip("watchfiles")


def wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the watcher did not catch up"
        time.sleep(0.2)


def test_the_watcher_follows_added_changed_and_removed_files_while_a_reader_searches(settings, hash_embedder,
                                                                                       tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "bridge.txt").write_text("The council approved the harbour bridge on Monday.\n", encoding="utf-8")
    (folder / "ferry.txt").write_text("The ferry across the bay stops in June after eighty years.\n", encoding="utf-8")
    index_paths([folder], settings, hash_embedder)
    service = RagService(settings, embedder=hash_embedder)
    stop, failures, searches = threading.Event(), [], [0]

    def read() -> None:
        while not stop.is_set():
            try:
                service.retriever().search("harbour bridge ferry tolls", k=3)
                searches[0] += 1
            except Exception as error:  # noqa: BLE001 - any failure of a reader is what this test looks for
                failures.append(repr(error))

    lines: list[str] = []
    watcher = threading.Thread(target=watch_paths, args=([folder], settings, hash_embedder),
                               kwargs={"stop_event": stop, "debounce_ms": 200, "on_report": lambda r, line: lines.append(line)})
    reader = threading.Thread(target=read)
    watcher.start()
    reader.start()
    try:
        time.sleep(1.0)  # the watcher is listening
        (folder / "tolls.txt").write_text("Harbour tolls rise in July, the port authority said.\n", encoding="utf-8")
        wait_for(lambda: "tolls.txt" in sources(service))
        (folder / "bridge.txt").write_text("The council rejected the harbour bridge on Friday.\n", encoding="utf-8")
        wait_for(lambda: any("rejected" in p.text for p in service.retriever().search("council bridge", k=5)))
        (folder / "ferry.txt").unlink()
        wait_for(lambda: "ferry.txt" not in sources(service))
    finally:
        stop.set()
        watcher.join(30)
        reader.join(30)
    assert not watcher.is_alive() and failures == [] and searches[0] > 0
    assert sources(service) == {"bridge.txt", "tolls.txt"}
    assert lines[0].startswith("Watching") and any("1 added" in line for line in lines)


def sources(service: RagService) -> set[str]:
    return {Path(row.source).name for row in service.documents()}


def test_watching_nothing_is_one_line(settings, hash_embedder):
    with pytest.raises(RagError, match="needs files or folders"):
        watch_paths([], settings, hash_embedder)
