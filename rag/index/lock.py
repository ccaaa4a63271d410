"""One writer at a time: an flock on `.rag-writer.lock` in the index folder, holding the writer's pid.

The kernel drops an flock when its holder dies, so a lock left by a killed writer is never in the
way: the pid written in the file only names the holder in messages (and shows a crash when it names
a dead process). Readers never touch this lock. Re-entrant per thread, so `index_paths` can hold it
around a whole read-merge-write while `write_index` takes it again inside.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import IndexLockedError
from .generations import FILE_MODE, LOCK_FILE

_held = threading.local()  # .depth: real index path -> how many times this thread holds its lock


def _depths() -> dict[str, int]:
    """This thread's held locks."""
    if not hasattr(_held, "depth"):
        _held.depth = {}
    return _held.depth


@contextmanager
def writer_lock(root: Path, wait: float = 10.0) -> Iterator[None]:
    """Hold the index's writer lock, waiting up to `wait` seconds for another writer to finish."""
    key = os.path.realpath(root)
    depths = _depths()
    if depths.get(key):
        depths[key] += 1
        try:
            yield
        finally:
            depths[key] -= 1
        return
    fd = _acquire(Path(root), wait)
    depths[key] = 1
    try:
        yield
    finally:
        del depths[key]
        os.ftruncate(fd, 0)  # a clean exit leaves no pid behind; a crash leaves its (dead) pid
        os.close(fd)


def _acquire(root: Path, wait: float) -> int:
    """The open, exclusively locked lock file, with this process's pid written in it."""
    try:
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
    except OSError as error:
        raise IndexLockedError(f"cannot create the writer lock in {root}: {error.strerror or error}") from None
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = lock_holder(fd)
                os.close(fd)
                raise IndexLockedError(_busy_message(root, holder, wait)) from None
            time.sleep(0.05)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def lock_holder(fd_or_root: int | Path) -> int | None:
    """The pid written in a lock file (open descriptor or index folder), if any."""
    try:
        if isinstance(fd_or_root, int):
            raw = os.pread(fd_or_root, 32, 0)
        else:
            raw = (Path(fd_or_root) / LOCK_FILE).read_bytes()[:32]
        return int(raw.decode("ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _busy_message(root: Path, holder: int | None, wait: float) -> str:
    """One line: who holds the lock and what to do."""
    who = f"process {holder}" if holder else "another process"
    if holder and not pid_alive(holder):
        who += " (no longer running; a process it started still holds the lock)"
    return (f"index {root} is being written by {who}; waited {wait:g} s: run `rag index` again when it has finished "
            "(setting write_lock_wait)")
