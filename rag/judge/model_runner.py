"""The shipped judge model on onnxruntime: (first, second) text pairs in, a probability per pair out.

The model is a MiniLM-L6 cross-encoder trained by scripts/train_judge.py and shipped in rag/judge/model/
(judge.onnx, int8; tokenizer.json; manifest.json with each file's sha256, which loading checks). No torch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelLoadError

PACKAGED = Path(__file__).resolve().parent / "model"
# One pair per run: dynamic int8 quantisation scales activations by the whole batch's range, so a pair's score
# would depend on the pairs batched with it. Alone, a pair always gets the same score (a few ms each).
BATCH = 1


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict:
    """The model folder's manifest.json (what was trained, on what, and each file's sha256)."""
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"the judge model in {folder} has no readable manifest.json: reinstall rag "
                             "or retrain it with scripts/train_judge.py") from exc


def verify_files(folder: Path, manifest: dict) -> None:
    """Raise ModelLoadError when a file's sha256 differs from the manifest's (a damaged or replaced model)."""
    for name, expected in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            raise ModelLoadError(f"the judge model file {path} is missing: reinstall rag or retrain the judge")
        if file_sha256(path) != expected:
            raise ModelLoadError(f"the judge model file {path} does not match its sha256 in manifest.json: "
                                 "reinstall rag or retrain the judge with scripts/train_judge.py")


class CrossEncoder:
    """A pair classifier: P(yes) that the second text answers / supports the first, by one logit's sigmoid."""

    def __init__(self, folder: Path | str = PACKAGED, *, threads: int = 1, check_hash: bool = True):
        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder)
        if check_hash:
            verify_files(self.folder, self.manifest)
        self.max_length = int(self.manifest.get("max_length", 256))
        self.threads = threads
        self._session = None
        self._tokenizer = None

    @property
    def name(self) -> str:
        """The model's name and the first characters of its hash, for display and JSON."""
        digest = self.manifest.get("files", {}).get("judge.onnx", "")[:8]
        return f"{self.manifest.get('model', 'judge')}@{digest}"

    def scores(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """P(yes) for each (first, second) pair, in input order."""
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        encodings = self.tokenizer.encode_batch([(str(a), str(b)) for a, b in pairs])
        logits = np.empty(len(pairs), dtype=np.float32)
        order = sorted(range(len(pairs)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), BATCH):
            batch = order[start:start + BATCH]
            logits[batch] = self._run([encodings[i] for i in batch])
        return 1.0 / (1.0 + np.exp(-logits))

    def _run(self, encodings) -> np.ndarray:
        """One padded batch through the session: a logit per row."""
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        types, mask = np.zeros_like(ids), np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n], types[row, :n], mask[row, :n] = encoding.ids, encoding.type_ids, 1
        (logits,) = self.session.run(["logits"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        return logits.reshape(-1)

    @property
    def session(self):
        """The onnxruntime session, created on first use."""
        if self._session is None:
            from ..index.onnx_embed import make_session

            self._session = make_session(self.folder / "judge.onnx", self.threads)
        return self._session

    @property
    def tokenizer(self):
        """The pair tokenizer: truncates the longer text first, never pads (batches pad themselves)."""
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=self.max_length, strategy="longest_first")
            self._tokenizer = tokenizer
        return self._tokenizer
