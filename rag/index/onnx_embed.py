"""ONNX Runtime embedder for sentence-transformers BERT models: questions are embedded without importing torch.

The transformer is exported once per weights checksum by onnx_export (that step needs torch); afterwards only
onnxruntime, tokenizers and numpy are loaded. Pooling (mean over the attention mask) and L2
normalisation run in numpy, matching sentence-transformers' Transformer → Pooling → Normalize stack.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import DEFAULT_EMBED_MODEL, cache_dir
from ..errors import ModelLoadError
from .models import model_id_for, resolve_model_path
from .onnx_export import (
    OUTPUT_NAME,
    cached_export,
    check_supported,
    export_onnx,
    hidden_size,
    max_seq_length,
    quantize_int8,
    transformer_dir,
)


def default_cache_dir() -> Path:
    """Where exports live: $RAG_CACHE_DIR/onnx, else <user cache>/rag/onnx."""
    return cache_dir("onnx")


# --- inference (onnxruntime + tokenizers + numpy) -------------------------------------------------------------


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average token vectors over real (unmasked) tokens, then L2-normalise each row."""
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def length_batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Indices grouped into batches of similar token length (longest first), so padding stays small."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


class OnnxEmbedder:
    """Embedder on onnxruntime: same vectors as sentence-transformers (cosine ≥ 0.999), no torch at query time.

    int8=True embeds documents with the dynamically quantised export (~2x faster) while questions stay fp32:
    on SciFact (300 claims, 16.9k chunks) int8 documents + fp32 questions lost 0.0013 nDCG@10, int8 for
    both 0.005-0.008.
    """

    def __init__(
        self,
        name: str | Path = DEFAULT_EMBED_MODEL,
        cache_dir: Path | None = None,
        *,
        int8: bool = False,
        batch_size: int = 16,
        threads: int | None = None,
        query_threads: int | None = None,
        export: bool = True,
        model_id: str | None = None,
    ):
        self.model_dir = Path(resolve_model_path(str(name)))
        if not self.model_dir.is_dir():
            raise ModelLoadError(f"ONNX embedder needs a local sentence-transformers folder, got {str(name)!r}")
        # The id the sentence-transformers embedder records: indexes built by either engine stay interchangeable.
        self.model_id = model_id or model_id_for(str(name))
        check_supported(self.model_dir)
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.int8 = int8
        # Length-sorted batches of 16 ran ~10% faster than 32 on 2 cores (activations stay in cache).
        self.batch_size = batch_size
        self.threads = threads or cpu_count()  # intra-op threads for document batches
        # One question on an idle 2-core machine: 3.1 ms with 2 threads, 5.0 ms with 1; with the cores busy
        # (a local LLM generating) 1 thread wins (6 vs 13 ms), so a UI sharing the CPU may pass 1.
        self.query_threads = query_threads or self.threads
        self.export = export  # False: fail instead of exporting (keeps torch out of a process for sure)
        self.dim = hidden_size(self.model_dir)
        self.max_length = max_seq_length(self.model_dir)
        self._sessions: dict[bool, tuple[Any, int]] = {}  # int8? → (session, intra-op threads)
        self._tokenizer = None

    def onnx_path(self, int8: bool | None = None) -> Path:
        """The ONNX file to run (documents' precision by default): cached, else exported (with torch) now."""
        int8 = self.int8 if int8 is None else int8
        cached = cached_export(self.model_dir, self.cache_dir, int8)
        if cached:
            return cached
        if not self.export:
            raise ModelLoadError(f"no cached ONNX export of {self.model_dir} in {self.cache_dir}")
        return quantize_int8(self.model_dir, self.cache_dir) if int8 else export_onnx(self.model_dir, self.cache_dir)

    def session(self, int8: bool, threads: int):
        """The session for a precision, created on first use and rebuilt only to gain threads.

        One session per precision (each holds its own copy of the weights): with query_threads=1 a
        question-only process gets a 1-thread session; indexing upgrades it to all cores, and later
        questions reuse that.
        """
        current = self._sessions.get(int8)
        if current is None or current[1] < threads:
            self._sessions[int8] = (make_session(self.onnx_path(int8), threads), threads)
        return self._sessions[int8][0]

    @property
    def tokenizer(self):
        """The fast tokenizer from tokenizer.json, truncating like sentence-transformers and never padding."""
        if self._tokenizer is None:
            self._tokenizer = _load_tokenizer(transformer_dir(self.model_dir), self.max_length)
        return self._tokenizer

    def embed_documents(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Embed passages, batched by token length; rows come back in input order."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # sentence-transformers strips each text before tokenising; do the same for identical tokens.
        encodings = self.tokenizer.encode_batch([str(t).strip() for t in texts])
        ids = [e.ids for e in encodings]
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        session = self.session(self.int8, self.threads if len(ids) > 1 else self.query_threads)
        done = 0
        for batch in length_batches([len(x) for x in ids], self.batch_size):
            out[batch] = self._run(session, [ids[i] for i in batch], [encodings[i].type_ids for i in batch])
            done += len(batch)
            if progress:
                print(f"\rembedded {done}/{len(ids)}", end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one question, always in fp32 (a question is cheap; int8 questions cost retrieval quality)."""
        encoding = self.tokenizer.encode(str(text).strip())
        return self._run(self.session(False, self.query_threads), [encoding.ids], [encoding.type_ids])[0]

    def warm_up(self, documents: bool = False) -> None:
        """Load the tokenizer and the question (or document) session now, so timings exclude loading."""
        if documents:
            self.embed_documents(["warm up", "warm up twice"])
        else:
            self.embed_query("warm up")

    @staticmethod
    def _run(session, ids: list[list[int]], type_ids: list[list[int]]) -> np.ndarray:
        """One padded batch through the session, mean-pooled and normalised."""
        width = max(len(x) for x in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)  # pad id 0 ([PAD]); masked out anyway
        token_types = np.zeros_like(input_ids)
        mask = np.zeros_like(input_ids)
        for row, (seq, types) in enumerate(zip(ids, type_ids)):
            input_ids[row, :len(seq)] = seq
            token_types[row, :len(seq)] = types
            mask[row, :len(seq)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": token_types}
        (hidden,) = session.run([OUTPUT_NAME], feeds)
        return mean_pool(hidden, mask)


def _load_tokenizer(folder: Path, max_length: int):
    """tokenizers.Tokenizer from tokenizer.json with ST's truncation and padding switched off."""
    from tokenizers import Tokenizer

    path = Path(folder) / "tokenizer.json"
    if not path.exists():
        raise ModelLoadError(f"no tokenizer.json in {folder}: the ONNX embedder needs a fast tokenizer")
    tokenizer = Tokenizer.from_file(str(path))
    # all-MiniLM-L6-v2's tokenizer.json pads and truncates to a fixed 128; sentence-transformers truncates
    # at max_seq_length (256) and pads per batch, so override both.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def make_session(path: Path, threads: int):
    """An onnxruntime CPU session with full graph optimisation and `threads` intra-op threads."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ModelLoadError("the ONNX embedder needs onnxruntime: pip install onnxruntime") from exc
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # warnings about unused initialisers etc. are noise for users
    # onnxruntime's idle threads spin by default; beside the local LLM (same process, same 2 cores) that spinning
    # would steal the cores llama.cpp reads the prompt with.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - a corrupt cache file becomes one line
        raise ModelLoadError(
            f"could not load ONNX model {path} ({type(exc).__name__}); delete its folder to re-export"
        ) from exc
