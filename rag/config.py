"""One settings object for every front end: defaults, `RAG_*` env vars, then CLI flags."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel as _BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"


class BaseModel(_BaseModel):
    """Settings section: assignments (CLI overrides) are validated too."""

    model_config = ConfigDict(validate_assignment=True)


class EmbedSettings(BaseModel):
    """How passages and questions are embedded."""

    model: str = Field(
        DEFAULT_EMBED_MODEL,
        description="sentence-transformers model: the packaged default 'all-MiniLM-L6-v2', a hub name or a local path.",
    )
    batch_size: int = Field(32, ge=1, description="Texts embedded per batch.")
    device: str = Field("cpu", description="torch device for the embedder.")
    engine: Literal["auto", "onnx", "torch"] = Field(
        "auto", description="auto: onnxruntime when installed (the model is exported to ONNX once, with torch), so "
        "questions never import torch; onnx: require it; torch: sentence-transformers."
    )
    document_precision: Literal["int8", "fp32"] = Field(
        "int8", description="ONNX engine: weights used to embed documents (questions always use fp32). int8 "
        "(dynamically quantised, ~2x faster) lost 0.0013 SciFact nDCG@10 (benchmarks/ingest_vs_langchain.py).",
    )


class ChunkSettings(BaseModel):
    """How documents are cut into passages (sizes in words: MiniLM truncates at 256 word-pieces)."""

    size: int = Field(120, ge=20, le=180, description="Target passage length in words.")
    overlap: int = Field(20, ge=0, description="Words shared by neighbouring passages.")


class RetrieveSettings(BaseModel):
    """How passages are found for a question."""

    k: int = Field(5, ge=1, le=100, description="Passages returned.")
    mode: Literal["dense", "lexical", "hybrid"] = Field("hybrid", description="Dense (FAISS), lexical (BM25) or both fused.")
    fetch_k: int = Field(50, ge=1, description="Candidates fetched from each retriever before fusion and dedup.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    fusion: Literal["rrf", "convex"] = Field(
        "convex", description="Hybrid fusion: weighted sum of min-max-normalised scores (convex) or reciprocal ranks (rrf)."
    )
    dense_weight: float = Field(0.6, ge=0.0, le=1.0, description="Share of the dense retriever in hybrid fusion.")
    dedup_threshold: float = Field(
        0.83, ge=0.0, le=1.01, description="Cosine similarity above which two passages count as duplicates (>1 disables)."
    )
    reranker: str | None = Field(
        None, description="Re-order the fused candidates: 'judge' (the trained judge shipped with rag) or a "
        "sentence-transformers CrossEncoder name or path; unset = no reranking.",
    )
    rerank_depth: int = Field(20, ge=1, le=200, description="Fused candidates the reranker re-orders (the rest follow).")
    exclude_flagged: bool = Field(
        False, description="Leave out of retrieval every document holding text flagged as written to steer the "
                           "assistant (`rag docs` lists them). Off: such documents are searched, their flagged text "
                           "is never shown to the model nor quoted, and answers citing them carry a warning.")
    # benchmarks/ann_recall.py (384-d MiniLM vectors, one thread): exact flat search takes 1 ms at 17k vectors,
    # 13 ms at 50k, 25 ms at 100k, 49 ms at 200k; HNSW answers in ~1 ms but finds 0.98-0.99 of the true top 10
    # and takes 43 s to build at 100k, paid again on every re-index. Up to 100k, exact search costs less than
    # embedding the question; beyond, its latency keeps growing linearly, so HNSW takes over there.
    hnsw_threshold: int = Field(100_000, ge=1, description="Vectors above which an approximate HNSW index is built.")


class StoreSettings(BaseModel):
    """Where passages live: the embedded folder index (default) or a Milvus server / Milvus Lite file."""

    backend: Literal["embedded", "milvus"] = Field("embedded", description="embedded (FAISS + SQLite + BM25 in the index folder) or milvus.")
    uri: str | None = Field(
        None, description="Milvus: a Milvus Lite file path (ending in .db) or http://host:19530; default <index>/milvus.db."
    )
    token: str | None = Field(None, description="Milvus: 'user:password' or an API token, when the server asks for one.")
    collection: str = Field("rag", description="Milvus: prefix of the collection names (<prefix>_passages, ...).")
    segment_min_passages: int = Field(
        20_000, ge=1, description="Embedded: from this many passages on, small changes are written as a delta segment "
        "beside the unchanged base instead of rewriting the whole index.",
    )
    segment_max_share: float = Field(
        0.1, ge=0.0, le=1.0, description="Embedded: a delta larger than this share of the base is compacted (one full rewrite).",
    )


class LLMSettings(BaseModel):
    """Which chat model answers, and how."""

    spec: str = Field(
        "local",
        description="'local' (packaged Qwen2.5 GGUF), a .gguf path or 'provider:model' (e.g. openai:gpt-4o-mini).",
    )
    base_url: str | None = Field(None, description="OpenAI-compatible server URL (llama.cpp server, vLLM, LM Studio).")
    api_key: str | None = Field(None, description="API key; else the provider's usual env var is used.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature (0 = deterministic).")
    max_tokens: int = Field(300, ge=16, description="Most tokens generated per answer.")
    n_ctx: int = Field(4096, ge=512, description="Context window of the local model.")
    engine: Literal["auto", "xllamacpp", "llama-cpp"] = Field(
        "auto", description="Engine for GGUF models: xllamacpp (prebuilt wheels; auto prefers it) or llama-cpp-python."
    )
    n_threads: int | None = Field(None, description="CPU threads for the local model (default: one per core; fewer can be faster when the machine is busy).")


class AnswerSettings(BaseModel):
    """How answers are grounded and when the assistant declines."""

    passages: int = Field(4, ge=1, le=20, description="Passages shown to the LLM.")
    context_words: int = Field(
        0, ge=0, description="Words of passage text the LLM reads in all: each passage is cut to the sentences that "
        "best match the question (its best one always kept); 0 shows whole passages.",
    )
    candidates: int = Field(
        8, ge=1, le=50, description="Passages retrieved and put to the judge; the model reads the best of them "
        "(at most `passages`).",
    )
    gate: bool = Field(
        True, description="Put the retrieved passages to the trained judge before the model is asked: decline when "
        "none states the answer, and show the model only those that do (false: the retriever's first `passages`).",
    )
    prompts_dir: Path | None = Field(
        None, description="Folder of prompt templates (answer.md, condense.md, verify.md); default: the shipped prompts/."
    )
    check_claims: bool = Field(
        True, description="Put every answer sentence and its quotes to the judge; sentences it does not support are removed."
    )
    repair_citations: bool = Field(
        False, description="Cite a claim cut for a missing name to the read passage that holds it when the judge backs "
        "both quotes together. Off: the shipped judge still backs two quotes whenever the second merely names the "
        "entity (README, known limits).",
    )
    judge: str | None = Field(
        None,
        description="Who judges claim support: unset = the trained judge shipped with rag (rag/judge/model); 'model' = "
        "the answering model asked yes/no; an llm spec (provider:model, .gguf, local) for another chat model; "
        "'nli:PATH' for a sentence-transformers NLI cross-encoder.",
    )
    answerable_threshold: float = Field(
        0.3, ge=0.0, le=1.0,
        description="The judge's P(a passage states the answer) below which, for every retrieved passage, the "
        "question is declined without asking the model (CLAPNQ calibration split: 3% of answerable questions "
        "declined; higher thresholds declined answerable news questions, a domain the judge did not train on).",
    )
    read_threshold: float = Field(
        0.3, ge=0.0, le=1.0,
        description="The judge's P(states the answer) a passage needs to be shown to the model (the best one always is).",
    )
    support_threshold: float = Field(
        0.4, ge=0.0, le=1.0,
        description="The claim judge's probability below which a sentence counts as unsupported by its quotes (95% "
        "of true claims kept among the judge's calibration pairs; news claims score lower than Wikipedia ones).",
    )


class UISettings(BaseModel):
    """Web UI options."""

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(7860, description="Port to listen on.")
    auth: str | None = Field(None, description="Basic auth as 'user:password'; unset means no login.")
    max_upload_mb: int = Field(50, ge=1, description="Largest file accepted by upload.")
    index_root: Path | None = Field(
        None,
        description="Folder holding every index the UI may open or write (Settings tab, uploads); default: the "
        "parent folder of the configured index. Read at start: changing it needs a restart.",
    )


class ServeSettings(BaseModel):
    """HTTP API options (`rag serve`)."""

    host: str = Field("127.0.0.1", description="Interface to listen on (beyond loopback an API key is required).")
    port: int = Field(8000, description="Port to listen on.")
    api_key: str | None = Field(None, description="Bearer token clients must send; unset means no key (loopback only).")
    queue: int = Field(4, ge=0, description="Questions waiting for the model beyond the one being answered; more get 503.")
    max_request_kb: int = Field(256, ge=1, description="Largest JSON request body accepted (uploads: ui.max_upload_mb).")


class WebSettings(BaseModel):
    """Pages and feeds as sources (`rag index URL`, `rag index --feed URL`)."""

    timeout_s: float = Field(15.0, gt=0, description="Seconds a page may take in all (connect, wait and download).")
    max_page_mb: float = Field(10.0, gt=0, description="Pages larger than this are refused while they download.")
    max_redirects: int = Field(5, ge=0, description="Redirects followed before a page is refused as a loop.")
    allow_private: bool = Field(
        False, description="Fetch from private, link-local and loopback addresses (intranets, tests); off by default "
        "so a page or feed cannot point the indexer at this machine or its network.")
    user_agent: str = Field("rag-indexer (+https://github.com/; reads pages to answer questions about them)",
                            description="User-Agent sent with every request.")


class Settings(BaseSettings):
    """All settings. Env: RAG_INDEX, RAG_LLM__SPEC, RAG_RETRIEVE__K, ..."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_nested_delimiter="__", extra="ignore", validate_assignment=True
    )

    index: Path = Field(Path("index/default"), description="Index folder.")
    embed: EmbedSettings = EmbedSettings()
    chunk: ChunkSettings = ChunkSettings()
    retrieve: RetrieveSettings = RetrieveSettings()
    store: StoreSettings = StoreSettings()
    llm: LLMSettings = LLMSettings()
    answer: AnswerSettings = AnswerSettings()
    ui: UISettings = UISettings()
    serve: ServeSettings = ServeSettings()
    web: WebSettings = WebSettings()
    max_file_mb: int = Field(100, ge=1, description="Files larger than this are skipped at ingestion.")
    # Prose makes ~1,750 passages per MB (120-word passages, 20 overlapping); numbers and short words up to
    # ~3,300. Text without spaces makes one passage per 100 characters (10,000 per MB): noise that would
    # cost hours of embedding. Over budget, a file is skipped with its count in the reason.
    max_passages_per_mb: int = Field(
        4000, ge=1, description="Most passages a file may yield per MB of its size or text (at least 50 per file); "
        "a file over budget is skipped as degenerate.",
    )
    write_lock_wait: float = Field(
        10.0, ge=0.0, description="Seconds a second `rag index` on the same index waits for the first before refusing."
    )


def load_settings(**overrides: object) -> Settings:
    """Settings from env, with dotted-key overrides from the CLI ('retrieve.k': 3); None values are ignored."""
    from pydantic import ValidationError

    from .errors import ConfigError

    try:
        settings = Settings()
        for key, value in overrides.items():
            if value is None:
                continue
            section, _, name = key.rpartition(".")
            setattr(getattr(settings, section) if section else settings, name, value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or key
        raise ConfigError(f"invalid setting {where}: {first['msg']} (see `rag --help` or the README's settings table)") from exc
    return settings


def cache_dir(name: str) -> Path:
    """A per-user cache folder of ours: $RAG_CACHE_DIR/<name>, else <user cache>/rag/<name> (models, onnx, kv)."""
    root = os.environ.get("RAG_CACHE_DIR")
    if root:
        return Path(root).expanduser() / name
    return _user_cache_root() / "rag" / name


def _user_cache_root() -> Path:
    """Per-user cache root, like platformdirs.user_cache_dir without the dependency."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
