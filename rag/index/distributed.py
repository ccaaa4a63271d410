"""Ingestion on a Dask cluster: reading, cleaning, chunking and embedding fan out; this process writes.

`rag index PATHS --workers N` starts a `dask.distributed.LocalCluster` of N worker processes on 127.0.0.1;
`--cluster tcp://SCHEDULER:8786` uses a running one (its workers must see the same paths). Files go out
in batches; each worker reads a file, hashes it (unchanged files come back as such, unread), extracts and
cleans it, cuts it into passages and embeds them. Results come back in file order, so the writer merges
exactly what a single-process run would (same documents, passages, offsets and vectors) under the same
writer lock, and nothing is written before every file is in. A batch that fails is retried file by file;
a file that still fails (or kills its worker) is reported as skipped with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..config import Settings
from ..errors import ConfigError, IngestError
from ..ingest.files import discover
from ..ingest.readers import source_name
from ..types import Chunk, Document, Skipped
from .chunk import chunk_document

if TYPE_CHECKING:
    import numpy as np

    from .embed import Embedder

CONNECT_TIMEOUT = 10.0  # seconds to reach a --cluster scheduler
FILES_PER_TASK = 8  # small enough to spread a few large files, large enough to batch embedding
RETRIES = 1  # a failed batch is run once more before its files are retried one by one


class PreparedEmbedder:
    """The run's embedder, holding the vectors and passages the workers made: build.py embeds nothing again."""

    def __init__(self, embedder: Embedder, vectors: dict[str, np.ndarray], chunks: dict[str, list[Chunk]]):
        self.embedder = embedder
        self.model_id = embedder.model_id
        self.vectors = vectors  # passage text -> vector (equal texts embed equally)
        self.prepared_chunks = chunks  # document key -> passages, read by build._within_budget

    @property
    def dim(self) -> int:
        """Vector dimension (from the workers' vectors: the client need not load the model)."""
        return len(next(iter(self.vectors.values()))) if self.vectors else self.embedder.dim

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """The workers' vectors; a text they did not embed (none, in practice) is embedded here."""
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.embedder.embed_documents(missing)))
        if not texts:
            return np.zeros((0, self.dim), dtype="float32")
        return np.stack([self.vectors[t] for t in texts]).astype("float32")

    def embed_query(self, text: str) -> np.ndarray:
        """A question, by the real embedder."""
        return self.embedder.embed_query(text)


def read_on_cluster(paths: Sequence[Path], settings: Settings, embedder: Embedder, known: dict[str, tuple[str, str]],
                    workers: int | None, cluster: str | None, progress: bool, read_one: Callable,
                    budget: Callable[[Document, int], int]) -> tuple[list[Any], PreparedEmbedder]:
    """Every file's item (Document, Skipped or Unchanged) in discovery order, and an embedder holding their vectors.

    read_one(candidate, max_file_mb, known) and budget(doc, per_mb) are build.py's, passed in (workers import them).
    """
    for root in paths:
        if not os.path.lexists(root):
            raise IngestError(f"{root} does not exist: give a file or folder to index")
    candidates = list(discover([Path(p) for p in paths]))
    job = {"max_file_mb": settings.max_file_mb, "size": settings.chunk.size, "overlap": settings.chunk.overlap,
           "per_mb": settings.max_passages_per_mb, "embedder": portable(embedder), "read_one": read_one,
           "budget": budget}
    with dask_client(workers, cluster) as client:
        job["known"] = client.scatter(known, broadcast=True) if known else {}
        results = _run(client, candidates, job, progress)
    items, vectors, chunks = [], {}, {}
    for item, doc_chunks, doc_vectors in results:
        items.append(item)
        if doc_chunks is not None:
            chunks[item.key] = doc_chunks
            vectors.update(zip((c.text for c in doc_chunks), doc_vectors))
    return items, PreparedEmbedder(embedder, vectors, chunks)


@contextmanager
def dask_client(workers: int | None, cluster: str | None) -> Iterator[Any]:
    """A Dask client: on the scheduler at `cluster`, or on a LocalCluster of `workers` processes bound to 127.0.0.1."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--workers and --cluster need Dask: pip install 'rag[scale]'") from None
    if cluster:
        try:
            client = Client(cluster, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as error:
            raise ConfigError(f"cannot reach the Dask scheduler at {cluster} ({error}): start one with "
                              "`dask scheduler` and workers with `dask worker ADDRESS`, or use --workers N") from None
        with client:
            yield client
        return
    if workers is None or workers < 1:
        raise ConfigError("--workers needs a number of worker processes, 1 or more")
    import logging

    local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None, silence_logs=logging.ERROR)
    with local, Client(local) as client:
        yield client


def _run(client, candidates: list, job: dict[str, Any], progress: bool) -> list[tuple[Any, Any, Any]]:
    """Results of every candidate in order: batches first, then the files of failed batches one by one."""
    from dask.distributed import as_completed

    batches = [candidates[i : i + FILES_PER_TASK] for i in range(0, len(candidates), FILES_PER_TASK)]
    results: dict[int, list] = {}
    bar = _bar(len(candidates), progress)
    futures = {client.submit(prepare_files, batch, job, retries=RETRIES, pure=False): n
               for n, batch in enumerate(batches)}
    failed = []
    for future in as_completed(futures):
        n = futures[future]
        try:
            results[n] = future.result()
        except Exception:  # noqa: BLE001 - retried file by file below
            failed.append(n)
        bar.update(len(batches[n]))
    for n in failed:  # one bad file should not take its batch's other files with it
        results[n] = [_one_more_time(client, candidate, job) for candidate in batches[n]]
    bar.close()
    return [result for n in range(len(batches)) for result in results[n]]


def _one_more_time(client, candidate, job: dict[str, Any]) -> tuple[Any, Any, Any]:
    """A file of a failed batch on its own; still failing, it is reported as skipped."""
    try:
        return client.submit(prepare_files, [candidate], job, pure=False).result()[0]
    except Exception as error:  # noqa: BLE001 - a worker's failure, or its death (KilledWorker)
        message = str(error).splitlines()[0][:120] if str(error) else ""
        reason = f"failed on a Dask worker: {type(error).__name__}: {message}"
        return Skipped(source_name(candidate.path, candidate.root), reason), None, None


def prepare_files(candidates: list, job: dict[str, Any]) -> list[tuple[Any, list[Chunk] | None, Any]]:
    """On a worker: each file's item and, for a document within its passage budget, its passages and their vectors."""
    items, chunked = [], []
    for candidate in candidates:
        item = job["read_one"](candidate, job["max_file_mb"], job["known"])
        chunks = None
        if isinstance(item, Document):
            chunks = chunk_document(item, 0, job["size"], job["overlap"])
            if len(chunks) > job["budget"](item, job["per_mb"]):
                chunks = None  # the writer skips it with the reason; embedding it would be wasted
        items.append((item, chunks))
        chunked += chunks or []
    embedder = _worker_embedder(job["embedder"])
    vectors = embedder.embed_documents([c.text for c in chunked]) if chunked else []
    out, at = [], 0
    for item, chunks in items:
        count = len(chunks or [])
        out.append((item, chunks, vectors[at : at + count] if chunks is not None else None))
        at += count
    return out


def portable(embedder: Embedder) -> Any:
    """What to send workers: the model's name for a sentence-transformers embedder (loaded once per worker),
    else the embedder object itself (it must pickle)."""
    from .embed import SentenceTransformerEmbedder

    if isinstance(embedder, SentenceTransformerEmbedder):
        return ("sentence-transformers", embedder.name, embedder.batch_size, embedder.device)
    return embedder


def _worker_embedder(spec: Any) -> Embedder:
    """The embedder on a worker (get_embedder keeps one per process)."""
    if isinstance(spec, tuple) and spec[0] == "sentence-transformers":
        from .embed import get_embedder

        return get_embedder(spec[1], spec[2], spec[3], "torch")  # the engine the client chose
    return spec


def _bar(total: int, enabled: bool):
    """A tqdm bar counting files done on the cluster, or a stand-in that does nothing."""
    if enabled:
        from tqdm import tqdm

        return tqdm(total=total, desc="Reading and embedding on Dask", unit="file", leave=False)

    class _Quiet:
        def update(self, n: int) -> None: ...

        def close(self) -> None: ...

    return _Quiet()
