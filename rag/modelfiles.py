"""Models trained here and shipped inside the package (the judge, the steering detector): each lives in a folder
with a manifest.json naming every file's sha256, checked before the model is used."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import ModelLoadError


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path, what: str, script: str) -> dict:
    """The model folder's manifest.json (what was trained, on what, and each file's sha256)."""
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"the {what} in {folder} has no readable manifest.json: reinstall rag "
                             f"or retrain it with {script}") from exc


def verify_files(folder: Path, manifest: dict, what: str, script: str) -> None:
    """Raise ModelLoadError when a file's sha256 differs from the manifest's (a damaged or replaced model)."""
    for name, expected in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            raise ModelLoadError(f"the {what} file {path} is missing: reinstall rag or retrain it with {script}")
        if file_sha256(path) != expected:
            raise ModelLoadError(f"the {what} file {path} does not match its sha256 in manifest.json: "
                                 f"reinstall rag or retrain it with {script}")
