"""Generations on disk: the CURRENT pointer, rag's ownership marker, reader leases, cleanup, file modes.

Every folder rag writes (`.tmp-*` while building, `gen-*` once complete) holds MARKER, written first:
cleanup only ever deletes marked folders, so a foreign `gen-x` in an index folder survives. Readers
hold a shared flock on the generation's LEASE file for as long as they use it; the writer deletes an
old generation only when it gets an exclusive lock on that file without waiting, else a later write
retries. So a reader never sees its files vanish, and readers never wait for writers.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import stat
import time
import uuid
from pathlib import Path

from ..errors import ConfigError, IndexDamagedError, IndexFormatError, IndexNotFoundError
from ..ingest.pages import WEB_DIR  # pages and feeds fetched by `rag index URL`

CURRENT = "CURRENT"
MARKER = "rag-generation.json"
LEASE = "lease"
LOCK_FILE = ".rag-writer.lock"
UPLOADS = "uploads"
GEN_PREFIX, TMP_PREFIX = "gen-", ".tmp-"
GENERATION_NAME = re.compile(r"gen-[A-Za-z0-9_-]{1,64}")
FILE_MODE, DIR_MODE = 0o644, 0o755


def damaged(root: Path, what: str) -> IndexDamagedError:
    """The one-line error for a damaged index: what is wrong and what to run."""
    return IndexDamagedError(root, what)


# ---------------------------------------------------------------- the pointer


def read_pointer(root: Path) -> str:
    """The generation name CURRENT holds; one-line errors when there is no index or CURRENT is bad."""
    if root.exists() and not root.is_dir():
        raise IndexFormatError(f"{root} is a file, not an index folder: give the index folder with --index "
                               "(or RAG_INDEX)")
    pointer = root / CURRENT
    if not os.path.lexists(pointer):
        if has_generations(root):  # the pointer was lost, not the index: an update would drop documents
            raise damaged(root, "CURRENT is missing, though generations are there")
        raise IndexNotFoundError(f"no index at {root}: build one with `rag index PATH --index {root}`")
    if pointer.is_symlink() or not pointer.is_file():
        raise damaged(root, "CURRENT is not a plain file")
    try:
        with open(pointer, "rb") as fh:
            raw = fh.read(256)
    except OSError as error:
        raise damaged(root, f"CURRENT cannot be read: {error.strerror or error}") from None
    name = raw.decode("utf-8", "replace").strip()
    if not GENERATION_NAME.fullmatch(name):
        raise damaged(root, f"CURRENT names {name[:60]!r}, not a generation inside the index folder")
    return name


def live_generation(root: Path) -> Path:
    """The folder of the live generation, which must be a real folder inside `root`."""
    name = read_pointer(root)
    folder = root / name
    if folder.is_symlink() or not folder.is_dir():
        raise damaged(root, f"CURRENT points to {name}, which is missing")
    return folder


def has_generations(root: Path) -> bool:
    """Whether `root` holds generations rag wrote."""
    return root.is_dir() and any(p.name.startswith(GEN_PREFIX) and is_marked(p) for p in root.iterdir())


def point_current(root: Path, name: str) -> None:
    """Flip the CURRENT pointer with an atomic rename."""
    tmp = root / f".{CURRENT}.{uuid.uuid4().hex[:6]}"
    tmp.write_text(name + "\n", encoding="utf-8")
    os.chmod(tmp, FILE_MODE)
    try:
        os.replace(tmp, root / CURRENT)
    except OSError as error:  # CURRENT is a folder, or the index folder turned read-only
        tmp.unlink(missing_ok=True)
        raise IndexFormatError(f"cannot replace {root / CURRENT} ({error.strerror or error}): fix or remove it "
                               "by hand, then run `rag index` again") from None


# ---------------------------------------------------------------- ownership and modes


def mark(folder: Path) -> None:
    """Write the marker proving rag created `folder` (first thing in a new generation)."""
    data = {"created_by": "rag", "pid": os.getpid(), "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (folder / MARKER).write_text(json.dumps(data), encoding="utf-8")
    (folder / LEASE).touch()


def is_marked(folder: Path) -> bool:
    """Whether rag created this folder (a real folder holding rag's marker)."""
    marker = folder / MARKER
    if folder.is_symlink() or marker.is_symlink() or not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text(encoding="utf-8")).get("created_by") == "rag"
    except (OSError, ValueError, AttributeError):
        return False


def set_modes(folder: Path) -> None:
    """0755 folders and 0644 files under `folder`, whatever the umask."""
    os.chmod(folder, DIR_MODE)
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), DIR_MODE)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), FILE_MODE)


def _ours(entry: Path) -> bool:
    """An entry rag itself puts in an index folder."""
    name = entry.name
    if name in (CURRENT, LOCK_FILE, "document-meta.json") or name.startswith(f".{CURRENT}."):
        return True
    if name in (UPLOADS, WEB_DIR) and entry.is_dir() and not entry.is_symlink():  # uploads, pages fetched
        return True
    return name.startswith((GEN_PREFIX, TMP_PREFIX)) and is_marked(entry)


def check_index_folder(root: Path) -> None:
    """Refuse to write an index into a plain file or into a non-empty folder that holds no index."""
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root} is a file, not an index folder: give a new or empty folder with --index")
    if not root.is_dir() or os.path.lexists(root / CURRENT):
        return
    foreign = sorted(entry.name for entry in root.iterdir() if not _ours(entry))
    if foreign:
        raise ConfigError(f"{root} is not empty and holds no index (it has {foreign[0]!r}): rag only writes into "
                          "a new or empty folder, so choose another --index")


def make_root(root: Path) -> None:
    """Create the index folder (0755) if it does not exist yet."""
    if not root.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, DIR_MODE)


# ---------------------------------------------------------------- leases


class Lease:
    """A reader's shared lock on a generation: while held, no writer deletes the generation."""

    def __init__(self, fd: int | None):
        self._fd = fd

    def release(self) -> None:
        """Give the generation up (closing the file drops the lock)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __del__(self) -> None:
        self.release()


def take_lease(folder: Path) -> Lease | None:
    """A shared lock on the generation's lease, or None when a writer is deleting (or has deleted) it."""
    path = folder / LEASE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        # The writer may have moved the folder away between our open and our lock: same file still there?
        if not os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False)):
            raise FileNotFoundError(path)
    except OSError:
        os.close(fd)
        return None
    return Lease(fd)


def open_generation(root: Path, attempts: int = 50) -> tuple[Path, Lease]:
    """The live generation with a lease on it, retrying while writers replace it under us."""
    for attempt in range(attempts):
        folder = live_generation(root)
        lease = take_lease(folder)
        if lease is not None:
            return folder, lease
        # No lease: a writer moved the folder away under us (retry), or it is still live but has no lease
        # file (written before leases existed, or damaged): then read it without one.
        if folder.is_dir() and not os.path.lexists(folder / LEASE) and read_pointer(root) == folder.name:
            return folder, Lease(None)
        time.sleep(min(0.002 * (attempt + 1), 0.05))
    raise IndexFormatError(f"index {root} was replaced {attempts} times while opening it: try again")


# ---------------------------------------------------------------- cleanup (writer only, under the writer lock)


def _delete_unleased(folder: Path) -> bool:
    """Delete a generation no reader holds; False (left in place) when one does."""
    try:
        fd = os.open(folder / LEASE, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = None  # damaged: no reader can hold a lease on it
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Move it out of the way while holding the lock, so a reader arriving late finds it gone.
        trash = folder.with_name(f"{TMP_PREFIX}old-{uuid.uuid4().hex[:8]}")
        os.rename(folder, trash)
    except OSError:  # BlockingIOError: a reader holds it
        return False
    finally:
        if fd is not None:
            os.close(fd)
    shutil.rmtree(trash, ignore_errors=True)
    return True


def remove_old_generations(root: Path, keep: str) -> list[str]:
    """Delete rag's generations other than `keep` that no reader holds, and rag's leftover temp folders."""
    removed = []
    for child in sorted(root.iterdir()):
        if child.name == keep or child.is_symlink() or not child.is_dir():
            continue
        if _WRITER_TEMP.fullmatch(child.name) and _stub(child):
            # a writer killed between creating its folder and marking it leaves it empty (or with a partial
            # marker) under a name only rag's writer uses: it goes even though it is not marked
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
            continue
        if not is_marked(child):
            continue
        if child.name.startswith(GEN_PREFIX) and _delete_unleased(child):
            removed.append(child.name)
        elif child.name.startswith(TMP_PREFIX):  # a dead writer's leftovers: only one writer runs at a time
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
    for child in root.glob(f".{CURRENT}.*"):
        child.unlink(missing_ok=True)  # a pointer a killed writer never got to rename
    return removed


# The writer's temp folders: ".tmp-w<pid>-<hex>"; the name itself says rag made it (no one else uses the pattern).
_WRITER_TEMP = re.compile(r"\.tmp-w\d+-[0-9a-f]{8}")


def writer_temp_name() -> str:
    """A fresh name for the folder a writer builds a generation in."""
    return f"{TMP_PREFIX}w{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _stub(folder: Path) -> bool:
    """Whether a folder holds nothing but (at most) rag's own marker and lease files."""
    try:
        return all(entry.name in (MARKER, LEASE) and entry.is_file() and not entry.is_symlink()
                   for entry in folder.iterdir())
    except OSError:
        return False


def file_mode(path: Path) -> int:
    """Permission bits of a path (for tests and `rag check`)."""
    return stat.S_IMODE(os.stat(path).st_mode)
