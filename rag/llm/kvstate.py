"""Saved KV states of fixed prompt prefixes, so a new process does not re-read the instructions.

Every prompt of ours starts with fixed messages (the system text and worked examples: ~290 tokens for the
answer prompt) and ends with the one user message that changes. On 2 cores llama.cpp reads ~67 prompt
tokens/s, so a new `rag ask` spent ~4 s on text it had read before. llama.cpp can save a slot's KV state
to a file and load it back in milliseconds (the server's /slots endpoint). The first time a process meets a
prefix it restores the saved state if there is one, else it saves the slot after the request; within a
process, llama.cpp's own prompt cache takes over. The state saved holds the whole last request too: on
restore, llama.cpp keeps the part shared with the new prompt (the fixed prefix) and re-reads the rest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_FILES = 8  # saved states kept per folder (~30 MB each for a full answer prompt); the oldest go first
TIMEOUT = 30.0  # seconds for one save or restore over loopback


class PrefixStates:
    """Save and restore the single slot of one in-process llama.cpp server, keyed by a prompt's fixed messages."""

    def __init__(self, address: str, api_key: str, folder: Path, model_key: str):
        self.address = address.rstrip("/")
        self.api_key = api_key
        self.folder = folder
        self.model_key = model_key
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def key(self, messages: Sequence[dict[str, Any]]) -> str | None:
        """File stem for a request's fixed part (all messages but the last), None when there is none."""
        if len(messages) < 2:
            return None
        fixed = json.dumps([self.model_key, list(messages[:-1])], sort_keys=True, ensure_ascii=False)
        return "prefix-" + hashlib.sha256(fixed.encode("utf-8")).hexdigest()[:32]

    def prepare(self, messages: Sequence[dict[str, Any]]) -> str | None:
        """Before a request (the slot lock held): restore the saved state of its prefix on first sight in this
        process. Returns the key to `save` after the request when nothing was saved yet, else None."""
        key = self.key(messages)
        with self._lock:
            if key is None or key in self._seen:
                return None
            self._seen.add(key)
        if (self.folder / f"{key}.bin").is_file():
            self._slot_action("restore", f"{key}.bin")
            return None
        return key

    def save(self, key: str | None) -> None:
        """After a completed request: write the slot's state under `key` (atomically: temp name, then rename)."""
        if key is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.debug("no prompt-state folder %s: %s", self.folder, exc)
            return
        temp = f"tmp-{os.getpid()}-{key}.bin"
        if self._slot_action("save", temp):
            try:
                os.replace(self.folder / temp, self.folder / f"{key}.bin")
            except OSError as exc:
                log.debug("prompt state not kept: %s", exc)
            self._prune()

    def _slot_action(self, action: str, filename: str) -> bool:
        """POST /slots/0?action=save|restore; False (logged, never raised) when it fails: this is only a speed-up."""
        request = urllib.request.Request(
            f"{self.address}/slots/0?action={action}",
            data=json.dumps({"filename": filename}).encode(),
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                json.loads(response.read() or b"{}")
            return True
        except (OSError, ValueError) as exc:
            log.debug("prompt state %s of %s failed: %s", action, filename, exc)
            return False

    def _prune(self) -> None:
        """Keep the MAX_FILES newest files (a temp file a killed process left counts, so it goes in time)."""
        try:
            files = sorted(self.folder.glob("*.bin"), key=lambda p: p.stat().st_mtime, reverse=True)
            for stale in files[MAX_FILES:]:
                stale.unlink(missing_ok=True)
        except OSError as exc:
            log.debug("prompt-state prune failed: %s", exc)


def model_key(path: str, n_ctx: int) -> str:
    """What a saved state depends on: the model file (path, size, mtime), the context size and the engine version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        engine = version("xllamacpp")
    except PackageNotFoundError:
        engine = "unknown"
    stat = Path(path).stat()
    return f"{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{n_ctx}|xllamacpp-{engine}"
