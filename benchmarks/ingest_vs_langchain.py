"""Ingestion speed of the plain LangChain pipeline vs rag's chunker + ONNX embedder, and SciFact nDCG@10 of each.

    .venv/bin/python benchmarks/ingest_vs_langchain.py [--docs 1000] [--slices 8] [--pipelines a,b,...]

Corpus: every SciFact abstract cited by a validation claim plus the first others up to --docs (0: all 5183),
as "title, blank line, abstract"; the same texts for every pipeline.
  langchain      RecursiveCharacterTextSplitter(1000, 150) → HuggingFaceEmbeddings(all-MiniLM-L6-v2) → FAISS,
                 written with the libraries those wrappers call (installing langchain-huggingface would
                 downgrade huggingface_hub here): newlines → spaces, SentenceTransformer.encode (batch 32,
                 unnormalised) → .tolist() → float32 → IndexFlatL2 + a uuid-keyed docstore.
  rag+st         rag's chunker → sentence-transformers (rag's previous default path), to attribute the gain.
  rag+onnx-fp32  rag's chunker → OnnxEmbedder, length-bucketed batches → IndexFlatIP.
  rag+onnx-int8  the same with documents on the dynamically quantised int8 export (questions stay fp32).
Each pipeline is a fresh worker process: "load" counts its imports (torch for the first two, none for ONNX)
and model loading. The corpus is ingested in --slices slices, the workers taking turns slice by slice (order
rotated), so load from other processes on a shared machine hits every pipeline alike. "ingest" sums the
slices' chunk + embed + index time. ONNX exports are made beforehand (one-off, cached).
Quality: each pipeline's own index answers the 300 validation claims (questions embedded one at a time); a
document ranks by its best chunk; nDCG@10 with cited_doc_ids relevant. With --docs < 5183 the corpus has fewer
distractors, so scores run higher than BEIR's: judge int8 with --docs 0 (the rule: int8 is acceptable only if
nDCG@10 stays within 0.005 of fp32). Even then 300 claims give a ±0.009 bootstrap interval, so read the
interval printed with the verdict, not only the point estimate.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time

from common import REPO, SHARED, table

PIPELINES = ("langchain", "rag+st", "rag+onnx-fp32", "rag+onnx-int8")
DEFAULT_PIPELINES = ("langchain", "rag+onnx-fp32", "rag+onnx-int8")
INT8_MAX_NDCG_DROP = 0.005


# --- data ----------------------------------------------------------------------------------------------------


def claims() -> list:
    """SciFact validation claims with cited documents."""
    from rag.eval.datasets import scifact_gold

    return [g for g in scifact_gold(SHARED, "validation") if g.relevant_sources]


def corpus(size: int) -> list:
    """Abstracts cited by a validation claim, plus the first others until `size` (0: every abstract)."""
    from rag.eval.datasets import scifact_documents

    cited = {s for item in claims() for s in item.relevant_sources}
    docs, others = [], 0
    for doc in scifact_documents(SHARED):
        if doc.source in cited or not size or others < size - len(cited):
            docs.append(doc)
            others += doc.source not in cited
    return docs


def slice_bounds(n_docs: int, slices: int) -> list[tuple[int, int]]:
    """[start, end) document ranges of the slices."""
    step = math.ceil(n_docs / slices)
    return [(start, min(start + step, n_docs)) for start in range(0, n_docs, step)]


def chunker():
    """rag's chunk_document (rag/index/chunk.py, or rag/chunk.py before the package split)."""
    try:
        from rag.index.chunk import chunk_document
    except ImportError:
        from rag.chunk import chunk_document
    return chunk_document


# --- pipelines (each runs in its own worker process) ---------------------------------------------------------


def sentence_transformer():
    """SentenceTransformer on the packaged weights (what HuggingFaceEmbeddings and rag's old embedder load)."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    from rag.index.onnx_export import packaged_model_dir

    hf_logging.disable_progress_bar()  # the per-weight loading bar
    return SentenceTransformer(str(packaged_model_dir()), device="cpu")


class LangChainPipeline:
    """FAISS.from_documents(RecursiveCharacterTextSplitter(1000, 150).split_documents(d), HuggingFaceEmbeddings())."""

    def __init__(self) -> None:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.model = sentence_transformer()
        self.splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=150)
        self.index = None
        self.docstore: dict[str, object] = {}
        self.sources: list[str] = []  # per index row, like index_to_docstore_id → metadata["source"]

    def ingest(self, docs: list) -> int:
        """Split, embed and add one batch of documents (FAISS.from_documents / add_documents)."""
        import uuid

        import faiss
        import numpy as np
        from langchain_core.documents import Document as LCDocument

        chunks = self.splitter.split_documents([LCDocument(page_content=d.text, metadata={"source": d.source})
                                                for d in docs])
        texts = [c.page_content.replace("\n", " ") for c in chunks]  # HuggingFaceEmbeddings._embed does this
        vectors = np.array(self.model.encode(texts, show_progress_bar=False).tolist(), dtype=np.float32)
        if self.index is None:
            self.index = faiss.IndexFlatL2(vectors.shape[1])
        self.index.add(vectors)
        for chunk in chunks:
            self.docstore[str(uuid.uuid4())] = chunk
            self.sources.append(chunk.metadata["source"])
        return len(chunks)

    def embed_query(self, text: str):
        """HuggingFaceEmbeddings.embed_query."""
        return self.model.encode(text.replace("\n", " "))


class RagPipeline:
    """rag's chunker → an embedder's normalised vectors → IndexFlatIP."""

    def __init__(self, name: str) -> None:
        self.chunk_document = chunker()
        if name == "rag+st":
            model = sentence_transformer()
            self.embed_documents = lambda t: model.encode(t, batch_size=32, normalize_embeddings=True)
            self.embed_query = lambda q: model.encode([q], normalize_embeddings=True)[0]
        else:
            from rag.index.onnx_embed import OnnxEmbedder

            model = OnnxEmbedder(int8=name.endswith("int8"), export=False)
            model.warm_up(documents=True)
            self.embed_documents, self.embed_query = model.embed_documents, model.embed_query
        self.index = None
        self.sources: list[str] = []

    def ingest(self, docs: list) -> int:
        """Chunk, embed and add one batch of documents."""
        import faiss
        import numpy as np

        chunks = [(doc.source, c) for i, doc in enumerate(docs) for c in self.chunk_document(doc, i)]
        vectors = np.asarray(self.embed_documents([c.text for _, c in chunks]), dtype=np.float32)
        if self.index is None:
            self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)
        self.sources += [source for source, _ in chunks]
        return len(chunks)


def ndcg_at_10(ranked: list[str], relevant: set[str]) -> float:
    """Binary-relevance nDCG@10."""
    dcg = sum(1 / math.log2(rank + 2) for rank, doc in enumerate(ranked[:10]) if doc in relevant)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(len(relevant), 10)))
    return dcg / ideal if ideal else 0.0


def ndcg_per_claim(pipeline) -> list[float]:
    """nDCG@10 of each validation claim; a document ranks by its best chunk."""
    import numpy as np

    scores = []
    for item in claims():
        query = np.asarray(pipeline.embed_query(item.question), dtype=np.float32)[None, :]
        _, hits = pipeline.index.search(query, 100)
        ranked = list(dict.fromkeys(pipeline.sources[i] for i in hits[0] if i >= 0))
        scores.append(ndcg_at_10(ranked, set(item.relevant_sources)))
    return scores


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker(name: str, size: int, slices: int) -> None:
    """Serve one pipeline: report load time, then ingest slices on request ("slice i"), then "score"."""
    docs = corpus(size)
    bounds = slice_bounds(len(docs), slices)
    started = time.perf_counter()
    pipeline = LangChainPipeline() if name == "langchain" else RagPipeline(name)
    reply({"load": time.perf_counter() - started, "docs": len(docs)})
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "slice":
            start, end = bounds[int(arg)]
            wall, cpu = time.perf_counter(), cpu_seconds()
            chunks = pipeline.ingest(docs[start:end])
            reply({"chunks": chunks, "seconds": time.perf_counter() - wall, "cpu": cpu_seconds() - cpu})
        elif command == "score":
            reply({"ndcg": ndcg_per_claim(pipeline), "torch": "torch" in sys.modules})
            return


def reply(record: dict) -> None:
    """One JSON line to the parent."""
    print(json.dumps(record), flush=True)


# --- parent --------------------------------------------------------------------------------------------------


class Worker:
    """A pipeline's worker process, driven line by line."""

    def __init__(self, name: str, size: int, slices: int) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", name, "--docs", str(size), "--slices", str(slices)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
        self.result: dict = {"name": name, "chunks": 0, "ingest": 0.0, "ingest_cpu": 0.0, **self.read()}

    def ask(self, command: str) -> dict:
        """Send a command and wait for its JSON answer."""
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read()

    def read(self) -> dict:
        """The worker's next JSON line (exit with its failure otherwise)."""
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            sys.exit(f"{self.name} worker failed (exit {self.proc.returncode}); its traceback is above")
        return json.loads(line)

    def ingest(self, index: int) -> None:
        """Ingest one slice and add up its time."""
        answer = self.ask(f"slice {index}")
        self.result["chunks"] += answer["chunks"]
        self.result["ingest"] += answer["seconds"]
        self.result["ingest_cpu"] += answer["cpu"]

    def score(self) -> dict:
        """Finish: nDCG per claim and whether torch got imported."""
        self.result.update(self.ask("score"))
        self.proc.wait()
        return self.result


def run(names: list[str], size: int, slices: int) -> list[dict]:
    """Start every worker (one at a time, so loads are not contended by each other), then interleave slices."""
    workers = [Worker(name, size, slices) for name in names]
    n_slices = len(slice_bounds(workers[0].result["docs"], slices))
    for index in range(n_slices):
        turn = index % len(workers)  # rotate who goes first, so no pipeline always follows the same one
        for worker in workers[turn:] + workers[:turn]:
            worker.ingest(index)
        print(f"slice {index + 1}/{n_slices} done", file=sys.stderr)
    return [w.score() for w in workers]


def prepare_exports(names: list[str]) -> float:
    """Make the ONNX exports the chosen pipelines need, so no worker pays for them; seconds taken."""
    from rag.index.onnx_embed import OnnxEmbedder

    started = time.perf_counter()
    for name in names:
        if "onnx" in name:
            OnnxEmbedder(int8=name.endswith("int8")).onnx_path()
    return time.perf_counter() - started


def mean(values: list[float]) -> float:
    """Arithmetic mean."""
    return sum(values) / len(values)


def rows(results: list[dict]) -> list[list[object]]:
    """Table rows: sizes, times, chunks/s, speed-ups vs the first (baseline) pipeline, quality."""
    base = results[0]
    base_rate = base["chunks"] / base["ingest"]
    out = []
    for r in results:
        rate = r["chunks"] / r["ingest"]
        out.append([r["name"], r["chunks"], r["load"], r["ingest"], r["ingest_cpu"], f"{rate:.1f}",
                    f"{rate / base_rate:.2f}x", f"{base['ingest'] / r['ingest']:.2f}x",
                    f"{(base['load'] + base['ingest']) / (r['load'] + r['ingest']):.2f}x",
                    "yes" if r["torch"] else "no", f"{mean(r['ndcg']):.4f}"])
    return out


def paired_ci(a: list[float], b: list[float], rounds: int = 2000) -> tuple[float, float]:
    """95% paired-bootstrap interval of mean(b - a)."""
    import numpy as np

    diff = np.asarray(b) - np.asarray(a)
    rng = np.random.default_rng(0)
    means = diff[rng.integers(0, len(diff), (rounds, len(diff)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def int8_verdict(results: list[dict]) -> str | None:
    """Whether int8 keeps nDCG@10 within the allowed drop of fp32 (None unless both ran)."""
    by_name = {r["name"]: r["ndcg"] for r in results}
    if not {"rag+onnx-fp32", "rag+onnx-int8"} <= by_name.keys():
        return None
    fp32, int8 = by_name["rag+onnx-fp32"], by_name["rag+onnx-int8"]
    drop = mean(fp32) - mean(int8)
    low, high = paired_ci(fp32, int8)
    ok = "acceptable" if drop <= INT8_MAX_NDCG_DROP else "NOT acceptable"
    return (f"int8 documents vs fp32: nDCG@10 drop {drop:+.4f} (limit {INT8_MAX_NDCG_DROP}) → {ok}; "
            f"95% paired-bootstrap interval of int8 - fp32: [{low:+.4f}, {high:+.4f}]")


def main() -> None:
    """Run the pipelines side by side and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000, help="abstracts in the corpus (0: all 5183)")
    parser.add_argument("--slices", type=int, default=8, help="turns the workers take through the corpus")
    parser.add_argument("--pipelines", default=",".join(DEFAULT_PIPELINES), help=f"comma-separated, of {PIPELINES}")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.docs, args.slices)
        return
    names = [n for n in args.pipelines.split(",") if n]
    if unknown := set(names) - set(PIPELINES):
        parser.error(f"unknown pipelines {sorted(unknown)}")
    print(f"ONNX exports ready in {prepare_exports(names):.1f} s", file=sys.stderr)
    results = run(names, args.docs, args.slices)
    print(f"\nIngesting {results[0]['docs']} SciFact abstracts in {args.slices} interleaved slices; "
          f"speed-ups vs {names[0]}\n")
    print(table(["pipeline", "chunks", "load s", "ingest s", "ingest CPU s", "chunks/s", "chunks/s ratio",
                 "ingest speed-up", "load+ingest speed-up", "imports torch", "nDCG@10"], rows(results)))
    if verdict := int8_verdict(results):
        print("\n" + verdict)


if __name__ == "__main__":
    main()
