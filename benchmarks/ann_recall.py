"""HNSW vs exact (flat) FAISS search: recall@10, query latency and build time at several index sizes.

    .venv/bin/python benchmarks/ann_recall.py [--sizes 16895,50000,100000,200000] [--queries 300]

Vectors: the SciFact passages of index/scifact; larger sizes add synthetic neighbours (a SciFact vector
plus Gaussian noise, renormalised), which keeps the clustered shape of real embeddings. Queries: the
SciFact validation claims, embedded with the real model. One FAISS thread, as the store searches.
The exact flat search at each size is the baseline for recall and latency.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import INDEX_ROOT, SHARED, dataset, embedder, p50_p95, table, timed


def corpus_vectors(folder: Path, size: int, seed: int = 0):
    """`size` unit vectors: the SciFact ones first, then noisy copies of them."""
    import numpy as np

    from rag.index.embedded.store import IndexStore

    real = np.asarray(IndexStore(folder).vectors, dtype="float32")
    if size <= len(real):
        return real[:size]
    rng = np.random.default_rng(seed)
    base = real[rng.integers(0, len(real), size - len(real))]
    noisy = base + rng.normal(0.0, 0.5 / np.sqrt(real.shape[1]), base.shape).astype("float32")
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    return np.vstack([real, noisy])


def measure(vectors, queries, k: int = 10) -> dict[str, float]:
    """Build both indexes, search every query one at a time, compare HNSW with exact results."""
    import faiss
    import numpy as np

    from rag.index.embedded.store import HNSW_EF_SEARCH, build_faiss

    faiss.omp_set_num_threads(1)
    dim = vectors.shape[1]
    flat_build, (flat, _) = timed(lambda: build_faiss(vectors, dim, hnsw_threshold=len(vectors)))
    faiss.omp_set_num_threads(2)  # building is parallel, as in `rag index`
    hnsw_build, (hnsw, _) = timed(lambda: build_faiss(vectors, dim, hnsw_threshold=0))
    faiss.omp_set_num_threads(1)
    hnsw.hnsw.efSearch = HNSW_EF_SEARCH
    flat_times, hnsw_times, recalls = [], [], []
    for query in queries:
        q = query.reshape(1, -1)
        seconds, (_, exact) = timed(lambda: flat.search(q, k))
        flat_times.append(seconds)
        seconds, (_, approx) = timed(lambda: hnsw.search(q, k))
        hnsw_times.append(seconds)
        recalls.append(len(set(exact[0]) & set(approx[0])) / k)
    return {"recall": float(np.mean(recalls)), "flat": p50_p95(flat_times), "hnsw": p50_p95(hnsw_times),
            "flat_build": flat_build, "hnsw_build": hnsw_build}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,16895,50000,100000,200000", help="index sizes (vectors)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--index-root", type=Path, default=INDEX_ROOT)
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args()
    gold, folder = dataset("scifact", args.index_root, args.shared)
    queries = embedder().embed_documents([g.question for g in gold[: args.queries]])
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        r = measure(corpus_vectors(folder, size), queries)
        rows.append([size, r["recall"], r["flat"][0], r["flat"][1], r["hnsw"][0], r["hnsw"][1],
                     f"{r['flat'][0] / r['hnsw'][0]:.1f}x", r["flat_build"], r["hnsw_build"]])
        print(rows[-1], flush=True)
    print()
    print(table(["vectors", "HNSW recall@10", "flat p50 ms", "flat p95 ms", "HNSW p50 ms", "HNSW p95 ms",
                 "HNSW speed-up", "flat build s", "HNSW build s"], rows))


if __name__ == "__main__":
    main()
