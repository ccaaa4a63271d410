"""The shipped judge model on onnxruntime: (first, second) text pairs in, a probability per pair out.

The model is a MiniLM-L6 cross-encoder trained by scripts/train_judge.py and shipped in rag/judge/model/
(judge.onnx, int8; tokenizer.json; manifest.json with each file's sha256, which loading checks). No torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..modelfiles import read_manifest, verify_files

PACKAGED = Path(__file__).resolve().parent / "model"
WHAT, SCRIPT = "judge model", "scripts/train_judge.py"
# Each pair runs alone (no batching): dynamic int8 quantisation scales activations by the whole batch's range, so a
# pair's score would depend on the pairs batched with it. Alone, a pair always gets the same score (~11 ms each).


class CrossEncoder:
    """A pair classifier: P(yes) that the second text answers / supports the first, by one logit's sigmoid."""

    def __init__(self, folder: Path | str = PACKAGED, *, threads: int = 1, check_hash: bool = True):
        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder, WHAT, SCRIPT)
        if check_hash:
            verify_files(self.folder, self.manifest, WHAT, SCRIPT)
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
        """P(yes) for each (first, second) pair, in input order (each pair runs alone: see the note on batching above)."""
        encodings = self.tokenizer.encode_batch([(str(a), str(b)) for a, b in pairs])
        logits = np.array([self._run(encoding) for encoding in encodings], dtype=np.float32)
        return 1.0 / (1.0 + np.exp(-logits))

    def _run(self, encoding) -> float:
        """One pair through the session: its logit."""
        ids = np.array([encoding.ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                 "token_type_ids": np.array([encoding.type_ids], dtype=np.int64)}
        (logits,) = self.session.run(["logits"], feeds)
        return float(logits.reshape(-1)[0])

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
