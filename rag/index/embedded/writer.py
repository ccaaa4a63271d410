"""Writing a generation: SQLite documents and passages, vectors (.npy and FAISS), BM25, manifest; then the flip.

A generation is written into a marked `.tmp-*` folder, renamed to `gen-*` and made live by replacing
CURRENT, all under the writer lock; see store.py for the layout and generations.py for the rules.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..rows import IndexContent
from ..generations import writer_temp_name, check_index_folder, make_root, mark, point_current, remove_old_generations, set_modes
from ..lock import writer_lock

if TYPE_CHECKING:
    import numpy as np

FORMAT_VERSION = 1
_SCHEMA = """
CREATE TABLE documents (id INTEGER PRIMARY KEY, key TEXT UNIQUE, source TEXT UNIQUE, path TEXT, title TEXT,
    content_hash TEXT, date TEXT, original TEXT, text TEXT, offset_map BLOB, metadata TEXT,
    date_source TEXT, outlet TEXT, url TEXT);
CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc_id INTEGER REFERENCES documents(id), ordinal INTEGER,
    text TEXT, start INTEGER, end INTEGER, orig_start INTEGER, orig_end INTEGER);
CREATE INDEX chunks_doc ON chunks(doc_id);
"""


def write_index(root: Path, content: IndexContent, manifest: dict[str, Any], hnsw_threshold: int = 100_000,
                lock_wait: float = 10.0, fill: Callable[[Path], None] | None = None) -> Path:
    """Write a new generation and make it live atomically (under the writer lock); returns its folder.

    `fill(folder)` writes the generation's files instead of the full write (segments.py: base linked, delta new)."""
    root = Path(root)
    check_index_folder(root)
    make_root(root)
    with writer_lock(root, lock_wait):
        tmp = root / writer_temp_name()
        tmp.mkdir()
        try:
            mark(tmp)  # first: from now on the folder is provably rag's
            fill(tmp) if fill is not None else _write_generation(tmp, content, manifest, hnsw_threshold)
            set_modes(tmp)
            final = root / f"gen-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
            os.rename(tmp, final)
            point_current(root, final.name)
        except BaseException:  # includes KeyboardInterrupt: never leave half a generation behind
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        remove_old_generations(root, keep=final.name)
    return final


def _write_generation(folder: Path, content: IndexContent, manifest: dict[str, Any], hnsw_threshold: int) -> None:
    """Fill a fresh folder with every file of a generation; the manifest goes last."""
    import numpy as np

    from .lexical import build_lexical

    vectors = np.ascontiguousarray(content.vectors, dtype="float32")
    if len(vectors) != len(content.chunks):
        raise ValueError("one vector per chunk is required")
    write_sqlite(folder / "meta.sqlite", content)
    np.save(folder / "vectors.npy", vectors, allow_pickle=False)
    kind = _write_faiss(folder / "vectors.faiss", vectors, int(manifest["dim"]), hnsw_threshold)
    build_lexical(folder, [c.text for c in content.chunks])
    counts = {"documents": len(content.documents), "chunks": len(content.chunks)}
    full = {"format": FORMAT_VERSION, **manifest, "faiss": kind, "counts": counts,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "created_by": "rag"}
    write_json_synced(folder / "manifest.json", full)


def write_sqlite(path: Path, content: IndexContent) -> None:
    """Documents and passages, with offsets back into each document's original text."""
    import numpy as np

    shared = [source for source, n in Counter(d.source for d in content.documents).items() if n > 1]
    if shared:
        raise ValueError(f"every document needs its own source; {shared[0]!r} is used twice")
    db = sqlite3.connect(path)
    try:
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(i, d.key, d.source, d.path, d.title, d.content_hash, d.date, d.original, d.text,
              np.asarray(d.offset_map, dtype="int32").tobytes(), json.dumps(d.metadata), d.date_source, d.outlet, d.url)
             for i, d in enumerate(content.documents)],
        )
        rows = []
        for i, c in enumerate(content.chunks):
            orig_start, orig_end = content.documents[c.doc_id].original_span(c.start, c.end)
            rows.append((i, c.doc_id, c.ordinal, c.text, c.start, c.end, orig_start, orig_end))
        db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?)", rows)
        db.commit()
    finally:
        db.close()


# HNSW graph parameters (benchmarks/ann_recall.py measures recall and latency with them).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def build_faiss(vectors: np.ndarray, dim: int, hnsw_threshold: int):
    """(FAISS index holding the vectors, kind): exact inner product up to the threshold, HNSW above."""
    import faiss

    if len(vectors) > hnsw_threshold:
        # Vectors quantised to 8 bits a dimension: a quarter of the memory (1M x 384: 0.4 GB, not 1.5 GB), a
        # faster build, recall@10 0.986 instead of 1.0 on 100k clustered vectors (benchmarks/scale.py)
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.train(vectors[:: max(1, len(vectors) // 100_000)])  # per-dimension ranges from a sample
        kind = "hnsw-sq8"
    else:
        index = faiss.IndexFlatIP(dim)
        kind = "flat"
    if len(vectors):
        index.add(vectors)
    return index, kind


def _write_faiss(path: Path, vectors: np.ndarray, dim: int, hnsw_threshold: int) -> str:
    """Write the FAISS index for a generation; returns its kind."""
    import faiss

    index, kind = build_faiss(vectors, dim, hnsw_threshold)
    faiss.write_index(index, str(path))
    return kind


def write_json_synced(path: Path, data: dict[str, Any]) -> None:
    """Write JSON and fsync it, so the manifest exists only complete."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
