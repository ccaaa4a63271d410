"""The stores at scale: serving memory, hybrid latency, ANN recall and the cost of adding 10 files.

    .venv/bin/python benchmarks/scale.py [--sizes 10000,100000] [--backends embedded,milvus] [--queries 200]

For each size N, a synthetic index of N passages is written by the stores' own writers (writer.write_index,
milvus_writer.write_full): documents of 10 passages of ~40 words drawn (Zipf-like) from the sample corpus's
vocabulary, dated 2020-2024, original text = cleaned text; dense vectors are random unit vectors around
1,000 random centres (384 dimensions, cosine ~0.7 to their centre), so an approximate index faces clustered
data as with real embeddings. Queries: a passage's vector plus noise and six of its words. A fresh process
then opens the index and serves hybrid queries through the Retriever (RSS read from /proc after them);
recall@10 compares the store's dense top 10 with exact search over all vectors. Finally 10 new files are
indexed into it through index_paths (a hash embedder, so embedding costs nothing and the store's write
path is what is timed). The machine is shared: the 1-minute load average is printed beside each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

from common import REPO, p50_p95, table

DIM, CENTRES, WORDS, PER_DOC = 384, 1_000, 40, 10
MODEL_ID = "bench/synthetic-384"


class SyntheticEmbedder:
    """Hashes words into 384 dimensions (for new files); questions get their prepared vectors."""

    model_id, dim = MODEL_ID, DIM

    def __init__(self, queries: dict[str, list[float]] | None = None):
        self.queries = queries or {}

    def embed_documents(self, texts, progress=False):
        import numpy as np

        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, DIM), dtype="float32")

    def embed_query(self, text):
        import numpy as np

        return np.asarray(self.queries[text], dtype="float32") if text in self.queries else self._vector(text)

    def _vector(self, text):
        import numpy as np

        vec = np.zeros(DIM, dtype="float32")
        for word in re.findall(r"\w+", text.lower()):
            vec[zlib.crc32(word.encode()) % DIM] += 1.0
        return vec / max(float(np.linalg.norm(vec)), 1e-9)


def vocabulary() -> list[str]:
    """Words of the sample corpus, most frequent first."""
    from collections import Counter

    files = (REPO / "examples" / "corpus").iterdir()
    words = Counter(w for p in files for w in re.findall(r"[A-Za-z]{2,}", p.read_text()))
    return [w for w, _ in words.most_common()]


def synthesise(size: int, seed: int = 0):
    """(IndexContent, query texts, query vectors) for `size` passages."""
    import numpy as np

    from rag.index.rows import IndexContent
    from rag.types import Chunk, Document

    rng = np.random.default_rng(seed)
    vocab = np.array(vocabulary())
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    words = vocab[rng.choice(len(vocab), size=(size, WORDS), p=weights / weights.sum())]
    texts = [" ".join(row).capitalize() + "." for row in words]
    documents, chunks = [], []
    for d, first in enumerate(range(0, size, PER_DOC)):
        body, starts = "", []
        for text in texts[first : first + PER_DOC]:
            starts.append(len(body) + (2 if body else 0))
            body = f"{body}\n\n{text}" if body else text
        date = f"{2020 + d % 5}-{1 + d % 12:02d}-{1 + d % 28:02d}"
        # an identity offset map as an int32 array: the writer stores its bytes, original_span indexes it
        documents.append(Document(source=f"doc{d:07d}.txt", original=body, text=body, title=f"Document {d}",
                                  offset_map=np.arange(len(body), dtype="int32"), date=date, content_hash=f"h{d}",
                                  path=f"/synthetic/doc{d:07d}.txt"))
        for ordinal, (start, text) in enumerate(zip(starts, texts[first : first + PER_DOC])):
            chunks.append(Chunk(doc_id=d, ordinal=ordinal, text=text, start=start, end=start + len(text)))
    vectors = clustered_vectors(size, rng)
    picks = rng.integers(0, size, 1_000)
    qvec = vectors[picks] + rng.normal(0, 0.3 / np.sqrt(DIM), (len(picks), DIM)).astype("float32")
    qvec /= np.linalg.norm(qvec, axis=1, keepdims=True)
    qtext = [" ".join(rng.choice(words[p], 6, replace=False)) + f" q{n}" for n, p in enumerate(picks)]
    return IndexContent(documents=documents, chunks=chunks, vectors=vectors), qtext, qvec


def clustered_vectors(size: int, rng):
    """Unit vectors scattered around random centres (cosine ~0.7 to their centre)."""
    import numpy as np

    centres = rng.normal(size=(CENTRES, DIM)).astype("float32")
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((size, DIM), dtype="float32")
    for start in range(0, size, 100_000):
        n = min(100_000, size - start)
        block = centres[rng.integers(0, CENTRES, n)] + rng.normal(0, 1.0 / np.sqrt(DIM), (n, DIM)).astype("float32")
        out[start : start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def exact_top10(vectors, queries):
    """Exact inner-product top 10 of every query."""
    import numpy as np

    scores = queries @ vectors.T
    return np.argsort(-scores, axis=1)[:, :10]


def settings_for(folder: Path, backend: str):
    """Settings of a benchmark index on a backend."""
    from rag.config import Settings

    settings = Settings(index=folder)
    settings.store.backend = backend
    settings.write_lock_wait = 600
    return settings


def build(folder: Path, backend: str, content) -> float:
    """Write the synthetic index with the backend's own writer; seconds taken."""
    from rag.index.backend import write_store

    manifest = {"embedding_model": MODEL_ID, "dim": DIM, "normalized": True,
                "chunking": {"size": 120, "overlap": 20, "unit": "words"}}
    started = time.perf_counter()
    write_store(settings_for(folder, backend), content, manifest)
    return time.perf_counter() - started


def serve(folder: Path, backend: str, queries: Path) -> dict:
    """In this (fresh) process: open the index, run hybrid queries, measure recall and RSS."""
    import numpy as np

    from rag.search.retriever import Retriever

    data = np.load(queries)
    texts = json.loads((queries.with_suffix(".json")).read_text())
    embedder = SyntheticEmbedder(dict(zip(texts, data["vectors"].tolist())))
    started = time.perf_counter()
    retriever = Retriever(settings_for(folder, backend), embedder=embedder)
    retriever.search(texts[0], k=10)
    opened = time.perf_counter() - started
    seconds, hits = [], 0
    for n, text in enumerate(texts):
        t0 = time.perf_counter()
        retriever.search(text, k=10, mode="hybrid")
        seconds.append(time.perf_counter() - t0)
        dense = {i for i, _ in retriever.store.dense_search(data["vectors"][n], 10)}
        hits += len(dense & set(data["exact"][n].tolist()))
    p50, p95 = p50_p95(seconds)
    return {"rss_mb": _status("VmRSS"), "anon_mb": _status("RssAnon"), "p50": p50, "p95": p95, "open_s": opened,
            "recall": hits / (10 * len(texts)), "kind": retriever.store.manifest.get("faiss", "milvus AUTOINDEX")}


def _status(field: str) -> float:
    """A /proc/self/status memory figure in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def add_ten_files(folder: Path, backend: str, work: Path) -> float:
    """Seconds to index 10 new small files into the big index through index_paths."""
    from rag.index.build import index_paths

    new = work / "new-files"
    new.mkdir(exist_ok=True)
    for n in range(10):
        (new / f"new{n}.txt").write_text(f"Breaking news number {n}. " + "Markets moved as ministers met. " * 40)
    started = time.perf_counter()
    index_paths([new], settings_for(folder, backend), SyntheticEmbedder())
    return time.perf_counter() - started


def run_size(size: int, backends: list[str], work: Path, queries: int) -> list[list[object]]:
    """Every figure for one size, one row per backend."""
    import numpy as np

    started = time.perf_counter()
    content, qtext, qvec = synthesise(size)
    qtext, qvec = qtext[:queries], qvec[:queries]
    exact = exact_top10(content.vectors, qvec)
    qfile = work / f"queries-{size}.npz"
    np.savez(qfile, vectors=qvec, exact=exact)
    qfile.with_suffix(".json").write_text(json.dumps(qtext))
    print(f"[{size:,}] synthesised in {time.perf_counter() - started:.0f} s", flush=True)
    rows = []
    for backend in backends:
        folder = work / f"{backend}-{size}"
        shutil.rmtree(folder, ignore_errors=True)
        load_build = os.getloadavg()[0]
        built = build(folder, backend, content)
        _disconnect(folder, backend)  # a Milvus Lite file admits one process: the server process opens it next
        print(f"[{size:,}] {backend}: built in {built:.0f} s (load {load_build:.1f})", flush=True)
        load_serve = os.getloadavg()[0]
        out = subprocess.run([sys.executable, __file__, "--serve", str(folder), "--backend", backend,
                              "--query-file", str(qfile)], capture_output=True, text=True, check=True)
        served = json.loads(out.stdout.strip().splitlines()[-1])
        load_add = os.getloadavg()[0]
        added = add_ten_files(folder, backend, work)
        _disconnect(folder, backend)
        print(f"[{size:,}] {backend}: {served}, add 10 files {added:.1f} s", flush=True)
        rows.append([f"{size:,}", backend, served["kind"], f"{built:.0f}",
                     f"{served['rss_mb']:.0f} ({served['anon_mb']:.0f})",
                     f"{served['p50']:.1f} / {served['p95']:.1f}", f"{served['recall']:.3f}", f"{added:.1f}",
                     f"{load_build:.1f} / {load_serve:.1f} / {load_add:.1f}"])
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def _disconnect(folder: Path, backend: str) -> None:
    """Close this process's Milvus client for the index (no-op for the embedded store)."""
    if backend == "milvus":
        from rag.index.milvus.store import disconnect

        disconnect(settings_for(folder, backend))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default="embedded,milvus")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--work", type=Path, default=REPO / "index" / "bench-scale")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--query-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(serve(args.serve, args.backend, args.query_file)))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        rows += run_size(size, args.backends.split(","), args.work, args.queries)
    header = ["passages", "store", "dense index", "build s", "serving RSS MB (anonymous)", "hybrid p50 / p95 ms",
              "recall@10",
              "add 10 files s", "load 1-min (build / serve / add)"]
    print(table(header, rows))


if __name__ == "__main__":
    main()
