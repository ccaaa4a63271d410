"""The steering detector's model: a logistic regression over hashed word features of one sentence.

Features are the sentence's lowercased words, word pairs, and the first five letters of long words (which carry
"ignor", "instr", "assis" across English, French, Spanish, German and Italian). Each is hashed (crc32, stable
across processes, unlike Python's hash) into 2**18 weights; the logit is their sum plus a bias. scripts/train_steering.py fits the weights with the
same `features` function, so training and use cannot drift apart. Scoring needs only numpy.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..modelfiles import read_manifest, verify_files

PACKAGED = Path(__file__).resolve().parent / "model"
WHAT, SCRIPT = "steering detector", "scripts/train_steering.py"
BITS = 18
MASK = (1 << BITS) - 1
# Words, and the punctuation that shapes an order or a chat turn (":", "<|", "[", "#").
_TOKEN = re.compile(r"\w+|<\||\|>|[:#\[\]<>]")


@lru_cache(maxsize=200_000)
def _word_ids(token: str) -> tuple[int, ...]:
    """Hashed features of one word alone: the word, and its first five letters when it is longer."""
    ids = [zlib.crc32(b"w:" + token.encode("utf-8")) & MASK]
    if len(token) >= 7 and token.isalpha():
        ids.append(zlib.crc32(b"p:" + token[:5].encode("utf-8")) & MASK)
    return tuple(ids)


def features(sentence: str) -> list[int]:
    """Hashed feature ids of a sentence (with repeats: a word twice counts twice)."""
    tokens = _TOKEN.findall(sentence.lower())[:80]
    ids: list[int] = []
    previous = 0
    for token in tokens:
        word = _word_ids(token)
        ids.extend(word)
        # A pair: the two words' own hashes mixed (multiply-xor), cheaper than hashing the joined string.
        ids.append(((previous * 1_000_003) ^ word[0]) & MASK)
        previous = word[0]
    return ids


class LinearModel:
    """Weights over hashed features, loaded from steering.npz after its sha256 is checked."""

    def __init__(self, folder: Path | str = PACKAGED, *, check_hash: bool = True):
        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder, WHAT, SCRIPT)
        if check_hash:
            verify_files(self.folder, self.manifest, WHAT, SCRIPT)
        with np.load(self.folder / "steering.npz") as data:
            self.weights = data["weights"].astype(np.float64)
            self.bias = float(data["bias"])
        self.threshold = float(self.manifest["threshold"])

    def score(self, sentence: str) -> float:
        """P(the sentence is written to steer an AI reader)."""
        ids = features(sentence)
        logit = self.bias + float(self.weights[ids].sum())
        return 1.0 / (1.0 + np.exp(-max(-30.0, min(30.0, logit))))


@lru_cache(maxsize=1)
def packaged_model() -> LinearModel:
    """The shipped model, loaded once per process."""
    return LinearModel()
