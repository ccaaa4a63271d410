"""Which files the given paths offer, and reading them with a hard cap.

Only regular files are read: named pipes, devices and sockets are skipped without being opened.
A symlink met inside a folder is followed only when its target lies inside one of the folders the
user gave (a named file is read wherever it points); loops and dangling links are skipped. Reads
stop at the size limit + 1 byte, whatever `stat` claims (/proc-like files report size 0).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import IngestError

MB = 1024 * 1024


class Unreadable(Exception):
    """A file that cannot be turned into text; the message is the one-line reason."""


@dataclass
class Candidate:
    """A file found under the given paths: read it unless `skip` says why not."""

    path: Path  # where it was found (a symlink stays a symlink here)
    root: Path | None  # the folder the user gave, None for a file named directly
    real: str = ""  # the resolved path: the file's identity, so a file reached twice is read once
    skip: str | None = None


def check_exist(paths: list[Path]) -> None:
    """Raise IngestError for the first path that does not exist."""
    for path in paths:
        if not os.path.lexists(path):
            raise IngestError(f"{path}: no such file or folder; check the path and try again.")


def discover(paths: list[Path]) -> Iterator[Candidate]:
    """Every file under `paths` (recursively, sorted, no hidden ones), vetted: `skip` set when it must not be read."""
    paths = [Path(p) for p in paths]
    check_exist(paths)
    roots = [os.path.realpath(p) for p in paths if p.is_dir()]
    seen: dict[str, str] = {}  # real path -> how it was first reached
    for path in paths:
        entries = [(f, path) for f in _walk(path)] if path.is_dir() else [(path, None)]
        for file, root in entries:
            candidate = _vet(file, root, roots)
            if candidate.skip is None:
                first = seen.setdefault(candidate.real, _display(file, root))
                if first != _display(file, root):
                    candidate.skip = f"same file as {first}, already read"
            yield candidate


def _walk(folder: Path) -> list[Path]:
    """Non-hidden entries under `folder` that are not plain folders, sorted by relative path; links not followed."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # prune .git etc.
        # os.walk lists links to folders among dirnames and never enters them: vet them like files.
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        found.extend(Path(dirpath, name) for name in filenames + links if not name.startswith("."))
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _display(path: Path, root: Path | None) -> str:
    """How a found file is named in messages: relative to its folder, else as given."""
    return path.relative_to(root).as_posix() if root is not None else str(path)


def _inside(path: str, folder: str) -> bool:
    """Whether a resolved path lies in (or is) a resolved folder."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _vet(file: Path, root: Path | None, roots: list[str]) -> Candidate:
    """A Candidate for one entry: regular files pass; links only to regular files inside the given folders."""
    candidate = Candidate(file, root)
    try:
        info = os.lstat(file)
        if stat.S_ISLNK(info.st_mode):
            candidate.real = os.path.realpath(file, strict=True)
            if root is not None and not any(_inside(candidate.real, r) for r in roots):
                candidate.skip = "symlink pointing outside the given folders: not followed"
                return candidate
            info = os.stat(candidate.real)
            if stat.S_ISDIR(info.st_mode):
                loop = _inside(os.path.realpath(file.parent), candidate.real)
                candidate.skip = "symlink loop (points to a folder above it)" if loop else \
                    "symlink to a folder: not followed (give that folder itself)"
                return candidate
        else:
            candidate.real = os.path.realpath(file)
    except OSError as error:
        loop = error.errno == errno.ELOOP
        candidate.skip = "symlink loop" if loop else f"cannot read file: {error.strerror or error}"
        return candidate
    if not stat.S_ISREG(info.st_mode):
        candidate.skip = f"not a regular file ({file_kind(info.st_mode)}): not opened"
    return candidate


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "folder" if stat.S_ISDIR(mode) else "special file"


def read_capped(path: Path, limit_mb: int, setting: str = "max_file_mb") -> bytes:
    """The bytes of a regular file, refusing it once more than `limit_mb` MB were actually read."""
    limit = limit_mb * MB
    try:
        if not stat.S_ISREG(mode := os.stat(path).st_mode):
            raise Unreadable(f"not a regular file ({file_kind(mode)}): not opened")
        # O_NONBLOCK: should the file have been swapped for a pipe since, opening it cannot hang.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise Unreadable(f"not a regular file ({file_kind(info.st_mode)}): not opened")
            data = fh.read(limit + 1)
    except OSError as error:
        loop = error.errno == errno.ELOOP
        raise Unreadable("symlink loop" if loop else f"cannot read file: {error.strerror or error}") from None
    if len(data) > limit:
        size = f" ({info.st_size / MB:.1f} MB)" if info.st_size > limit else ""
        raise Unreadable(f"larger than {limit_mb} MB{size} (setting {setting})")
    return data
