"""`rag check`: validate an index and list every problem; `rag index PATH --rebuild` recovers from each.

Checks the live generation: CURRENT names a generation inside the folder, the manifest is complete,
every file is there, the database passes SQLite's quick_check, the counts in the manifest, the
database, the vectors, the FAISS index and the BM25 index agree, vectors are finite, every passage's
span lies inside its document (and is its document's text), content hashes are recorded, sources are
unique and no file is writable by others. Leftovers beside the live generation are noted.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IndexDamagedError, RagError
from .generations import GEN_PREFIX, LEASE, LOCK_FILE, TMP_PREFIX, is_marked, live_generation
from .lock import lock_holder
from .embedded.store import REQUIRED_FILES, read_manifest

if TYPE_CHECKING:
    from ..config import Settings


@dataclass
class CheckResult:
    """What `rag check` found."""

    index: str
    generation: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON form for `rag check --json`."""
        return {"ok": self.ok, **asdict(self)}


def check_milvus(settings: Settings) -> CheckResult:
    """What can go wrong with a Milvus store: unreachable, no live manifest, or documents and passages the
    manifest does not count (rows a killed writer left are removed by the next write's recovery)."""
    from .milvus.store import MilvusStore

    result = CheckResult(settings.store.uri or f"{settings.index}/milvus.db")
    try:
        store = MilvusStore.open(settings)
    except RagError as error:
        result.problems.append(str(error))
        return result
    with store:
        result.generation = store.generation
        result.counts = dict(store.manifest.get("counts", {}))
        documents = store.documents()
    chunks = sum(d.chunks for d in documents)
    found = {"documents": len(documents), "chunks": chunks}
    for what, count in found.items():
        if count != result.counts.get(what):
            result.problems.append(f"the manifest counts {result.counts.get(what)} {what}, the store holds {count}")
    return result


def check_index(root: Path) -> CheckResult:
    """Every problem of the index at `root` (none raised: they are listed)."""
    root = Path(root)
    result = CheckResult(str(root))
    try:
        folder = live_generation(root)
        result.generation = folder.name
        manifest = read_manifest(root, folder)
    except IndexDamagedError as error:
        result.problems.append(error.what)
        _leftovers(root, result)
        return result
    except RagError as error:  # no index here, or a format this rag does not read
        result.problems.append(str(error))
        return result
    result.counts = {"documents": manifest["counts"]["documents"], "chunks": manifest["counts"]["chunks"]}
    visible, segments = result.counts, manifest.get("segments")
    if segments:  # a base with a delta beside it (segments.py): the base files hold the base's counts
        result.counts = {"documents": segments["base"]["documents"], "chunks": segments["base"]["chunks"]}
    for step in (_files, _database, _vectors, _faiss, _lexical):
        step(folder, manifest, result)
    if segments:
        _delta(folder / "delta", manifest, result)
        result.counts = visible
    _leftovers(root, result)
    return result


def _delta(folder: Path, manifest: dict[str, Any], result: CheckResult) -> None:
    """The delta segment: its database, ids after the base's, spans, vectors and BM25 index, as for the base."""
    import numpy as np

    base, delta = manifest["segments"]["base"], manifest["segments"]["delta"]
    problems = []
    try:
        db = sqlite3.connect(f"file:{folder / 'meta.sqlite'}?mode=ro", uri=True)
        try:
            documents = db.execute("SELECT count(*), min(id) FROM documents").fetchone()
            chunks = db.execute("SELECT count(*), min(id), max(id) FROM chunks").fetchone()
            tombstones = db.execute("SELECT count(*) FROM tombstones").fetchone()[0]
            bad = db.execute(_SPAN_ERRORS).fetchone()[0]
        finally:
            db.close()
        if (documents[0], chunks[0], tombstones) != (delta["documents"], delta["chunks"], delta["tombstones"]):
            problems.append(f"delta/meta.sqlite holds {documents[0]} documents, {chunks[0]} passages and {tombstones} "
                            f"tombstones, the manifest says {delta['documents']}, {delta['chunks']}, {delta['tombstones']}")
        if chunks[0] and (chunks[1], chunks[2]) != (base["chunks"], base["chunks"] + chunks[0] - 1):
            problems.append(f"delta passage ids run {chunks[1]}..{chunks[2]}, not on from the base's {base['chunks']}")
        if bad:
            problems.append(f"{bad} delta passages have a span outside their document (or text that is not theirs)")
        vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
        if tuple(vectors.shape) != (delta["chunks"], int(manifest["dim"])):
            problems.append(f"delta/vectors.npy has shape {tuple(vectors.shape)}, expected {(delta['chunks'], manifest['dim'])}")
    except (sqlite3.DatabaseError, OSError, ValueError, EOFError) as error:
        problems.append(f"the delta segment cannot be read: {str(error).splitlines()[0][:120]}")
    result.problems += problems


def _files(folder: Path, manifest: dict[str, Any], result: CheckResult) -> None:
    """Every file present, rag's marker and lease there, nothing writable by others."""
    for name in REQUIRED_FILES:
        if not os.path.exists(folder / name):
            result.problems.append(f"{folder.name}/{name} is missing")
    if not is_marked(folder):
        result.notes.append(f"{folder.name} has no rag marker (written by an older rag): a rebuild adds one")
    elif not (folder / LEASE).is_file():
        result.problems.append(f"{folder.name}/{LEASE} is missing (readers cannot hold the generation)")
    writable = [p for p in [folder, *folder.rglob("*")] if not p.is_symlink() and os.stat(p).st_mode & 0o022]
    if writable:
        example = writable[0].name
        result.problems.append(f"{len(writable)} index files are writable by group or others (e.g. {example})")


def _database(folder: Path, manifest: dict[str, Any], result: CheckResult) -> None:
    """meta.sqlite intact, counts as in the manifest, spans inside documents, hashes and unique sources."""
    path = folder / "meta.sqlite"
    if not path.is_file():
        return
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            _database_rows(db, result)
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        result.problems.append(f"meta.sqlite cannot be read: {error}")


_SPAN_ERRORS = """
SELECT count(*) FROM chunks c LEFT JOIN documents d ON d.id = c.doc_id
WHERE d.id IS NULL OR c.start < 0 OR c.end < c.start OR c.end > length(d.text)
   OR c.orig_start < 0 OR c.orig_end < c.orig_start OR c.orig_end > length(d.original)
   OR substr(d.text, c.start + 1, c.end - c.start) != c.text
"""


def _database_rows(db: sqlite3.Connection, result: CheckResult) -> None:
    """The checks that read rows of an open database."""
    verdict = db.execute("PRAGMA quick_check").fetchone()[0]
    if verdict != "ok":
        result.problems.append(f"meta.sqlite fails its integrity check: {verdict}")
        return
    documents = db.execute("SELECT count(*) FROM documents").fetchone()[0]
    chunks, low, high = db.execute("SELECT count(*), min(id), max(id) FROM chunks").fetchone()
    for name, found in (("documents", documents), ("chunks", chunks)):
        if found != result.counts[name]:
            result.problems.append(f"meta.sqlite holds {found} {name}, the manifest says {result.counts[name]}")
    if chunks and (low, high) != (0, chunks - 1):
        result.problems.append(f"passage ids run {low}..{high}, not 0..{chunks - 1} (vector rows would not match)")
    if bad := db.execute(_SPAN_ERRORS).fetchone()[0]:
        result.problems.append(f"{bad} passages have a span outside their document (or text that is not theirs)")
    if missing := db.execute("SELECT count(*) FROM documents WHERE coalesce(content_hash, '') = ''").fetchone()[0]:
        result.problems.append(f"{missing} documents have no content hash")
    shared = db.execute("SELECT source FROM documents GROUP BY source HAVING count(*) > 1 LIMIT 1").fetchone()
    if shared:
        result.problems.append(f"two documents share the source {shared[0]!r} "
                               "(quotes could be checked against the wrong one)")


def _vectors(folder: Path, manifest: dict[str, Any], result: CheckResult) -> None:
    """vectors.npy readable, one finite vector of the manifest's dimension per passage."""
    import numpy as np

    path = folder / "vectors.npy"
    if not path.is_file():
        return
    try:
        vectors = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        result.problems.append(f"vectors.npy cannot be read: {str(error).splitlines()[0][:120]}")
        return
    expected = (result.counts["chunks"], int(manifest["dim"]))
    if tuple(vectors.shape) != expected:
        result.problems.append(f"vectors.npy has shape {tuple(vectors.shape)}, expected {expected}")
    elif len(vectors) and not np.isfinite(np.asarray(vectors)).all():
        result.problems.append("vectors.npy holds NaN or infinite values")


def _faiss(folder: Path, manifest: dict[str, Any], result: CheckResult) -> None:
    """vectors.faiss readable, holding one vector per passage."""
    import faiss

    path = folder / "vectors.faiss"
    if not path.is_file():
        return
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as error:
        result.problems.append(f"vectors.faiss cannot be read: {str(error).strip().splitlines()[0][:120]}")
        return
    if (index.ntotal, index.d) != (result.counts["chunks"], int(manifest["dim"])):
        result.problems.append(f"vectors.faiss holds {index.ntotal} vectors of {index.d} dimensions, "
                               f"expected {result.counts['chunks']} of {manifest['dim']}")


def _lexical(folder: Path, manifest: dict[str, Any], result: CheckResult) -> None:
    """The BM25 index loads and covers every passage."""
    if not (folder / "lexical").is_dir() or not result.counts["chunks"]:
        return
    try:
        import bm25s

        found = int(bm25s.BM25.load(str(folder / "lexical"), mmap=False).scores["num_docs"])
    except Exception as error:  # bm25s raises json/numpy/OS errors on damaged files
        result.problems.append(f"lexical index cannot be read: {str(error).strip().splitlines()[0][:120]}")
        return
    if found != result.counts["chunks"]:
        result.problems.append(f"lexical index covers {found} passages, the manifest says {result.counts['chunks']}")


def _leftovers(root: Path, result: CheckResult) -> None:
    """Notes on what sits beside the live generation, and on a write in progress."""
    if not root.is_dir():
        return
    for child in sorted(root.iterdir()):
        if child.name == result.generation or not child.is_dir():
            continue
        if child.name.startswith(TMP_PREFIX) and is_marked(child):
            result.notes.append(f"{child.name}: left by an interrupted write; the next `rag index` removes it")
        elif child.name.startswith(GEN_PREFIX):
            result.notes.append(f"{child.name}: an older generation still read by someone; removed by a later write"
                                if is_marked(child) else f"{child.name}: not made by (this) rag; left alone")
    if _write_in_progress(root):
        result.notes.append(f"a write is in progress (process {lock_holder(root)})")


def _write_in_progress(root: Path) -> bool:
    """Whether a writer holds the lock now (tested without waiting and without taking it)."""
    try:
        fd = os.open(root / LOCK_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
