"""Ingestion on Dask: the same index as a single-process build, failures reported, unchanged files skipped."""

from __future__ import annotations

import os

import numpy as np
import pytest

from rag.index.build import index_paths, passage_budget, read_candidate
from rag.index.embedded.store import IndexStore
from rag.types import Skipped

from .conftest import HashEmbedder

pytest.importorskip("distributed", reason="Dask ingestion needs pip install 'rag[scale]'")


@pytest.fixture(scope="module")
def cluster():
    """A two-process Dask cluster on 127.0.0.1, shared by this module's tests (as `--cluster ADDRESS`)."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as local:
        yield local.scheduler_address


@pytest.fixture
def corpus_copy(corpus_copy):
    """The shared corpus copy plus a subfolder and an empty file."""
    folder = corpus_copy
    (folder / "sub").mkdir()
    (folder / "sub" / "notes.md").write_text("# Notes\n\nA short note about Kazakh oil exports through Novorossiysk.\n")
    (folder / "empty.txt").write_text("")
    return folder


def _content(root):
    """Everything a generation holds, in order."""
    store = IndexStore(root)
    try:
        docs = store.load_documents()
        chunks = [(c.doc_id, c.ordinal, c.text, c.start, c.end) for d in range(len(docs)) for c in store.chunks_of(d)]
        spans = [(p.source, p.start, p.end, p.original) for p in store.passages([(i, 0.0) for i in range(store.size)])]
        fields = [(d.source, d.path, d.title, d.date, d.content_hash, d.original, d.text, d.offset_map) for d in docs]
        return fields, chunks, spans, np.asarray(store.vectors).copy(), store.manifest
    finally:
        store.close()


def test_a_local_cluster_builds_exactly_the_single_process_index(settings, corpus_copy, tmp_path):
    single = settings.model_copy(update={"index": tmp_path / "single"})
    index_paths([corpus_copy], single, HashEmbedder())
    report = index_paths([corpus_copy], settings, HashEmbedder(), workers=2)
    one, many = _content(single.index), _content(settings.index)
    assert one[:3] == many[:3]  # documents, passages, offsets and original slices
    assert np.array_equal(one[3], many[3])  # vectors, bit for bit
    assert (one[4]["counts"], one[4]["dim"]) == (many[4]["counts"], many[4]["dim"])
    assert report.documents == 6 and [s.source for s in report.skipped] == ["empty.txt"]


def test_re_indexing_on_a_cluster_reads_only_what_changed(settings, corpus_copy, cluster):
    index_paths([corpus_copy], settings, HashEmbedder(), cluster=cluster)
    (corpus_copy / "sub" / "notes.md").write_text("# Notes\n\nZebras were counted in 2024.\n")
    (corpus_copy / "000_c616c649b025df99.txt").unlink()
    report = index_paths([corpus_copy], settings, HashEmbedder(), cluster=cluster)
    assert (report.updated, len(report.removed), len(report.unchanged)) == (["sub/notes.md"], 1, 4)
    assert report.embedded_chunks == 1
    store = IndexStore(settings.index)
    assert "Zebras" in " ".join(c.text for d in store.documents() for c in store.chunks_of(d.id))


def flaky_reader(candidate, max_file_mb, known):
    """build.read_candidate, except that one file breaks whoever reads it."""
    if candidate.path.name == "003_f61aea6a88730801.txt":
        raise RuntimeError("disk on fire")
    return read_candidate(candidate, max_file_mb, known)


def dying_reader(candidate, max_file_mb, known):
    """build.read_candidate, except that one file kills the worker reading it."""
    if candidate.path.name == "001_8616b1cfa831146b.txt":
        os._exit(3)
    return read_candidate(candidate, max_file_mb, known)


@pytest.mark.parametrize("reader, reason", [(flaky_reader, "RuntimeError: disk on fire"),
                                            (dying_reader, "KilledWorker")])
def test_a_file_that_fails_on_the_workers_is_reported_and_the_rest_indexed(settings, corpus_copy, cluster, reader,
                                                                          reason):
    import dask

    from rag.index.distributed import read_on_cluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        items, embedder = read_on_cluster([corpus_copy], settings, HashEmbedder(), {}, None, cluster, False,
                                          read_one=reader, budget=passage_budget)
    failed = [i for i in items if isinstance(i, Skipped) and "Dask worker" in i.reason]
    assert len(failed) == 1 and reason in failed[0].reason
    documents = [i for i in items if not isinstance(i, Skipped)]
    assert len(documents) == 5 and all(embedder.prepared_chunks[d.key] for d in documents)


def test_nothing_is_written_when_the_cluster_cannot_be_reached(settings, corpus_copy, monkeypatch):
    from rag.errors import ConfigError
    from rag.index import distributed

    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT", 1.0)
    with pytest.raises(ConfigError, match="Dask scheduler"):
        index_paths([corpus_copy], settings, HashEmbedder(), cluster="tcp://127.0.0.1:9")
    assert not (settings.index / "CURRENT").exists()
