"""Damaged indexes are one line and `rag check` lists them; one writer at a time; readers outlive writers;
nothing outside rag's own folders is deleted or written; a source names exactly one document."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rag.errors import ConfigError, IndexLockedError, RagError
from rag.index.build import index_paths
from rag.index.integrity import check_index
from rag.index.generations import LOCK_FILE, MARKER, file_mode
from rag.index.embedded.store import IndexStore
from rag.search.retriever import Retriever

from .conftest import CORPUS, REPO, HashEmbedder

ARMENIA = "002_838f15288c1da675.txt"

# Subprocesses index with this tiny embedder (same vectors and model id as the tests' HashEmbedder).
PRELUDE = textwrap.dedent('''
    import re, sys, time, zlib
    from pathlib import Path
    import numpy as np
    from rag.config import Settings
    from rag.index.build import index_paths

    class TinyEmbedder:
        model_id, dim = "test/hash-embedder", 256

        def __init__(self, delay=0.0):
            self.delay = delay

        def _vector(self, text):
            vec = np.zeros(self.dim, dtype="float32")
            for word in re.findall(r"\\w+", text.lower()):
                vec[zlib.crc32(word.encode()) % self.dim] += 1.0
            norm = np.linalg.norm(vec)
            return vec / norm if norm else vec

        def embed_documents(self, texts, progress=False):
            time.sleep(self.delay * len(texts))
            return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), "float32")

        def embed_query(self, text):
            return self._vector(text)
''')


def spawn(code: str, *args: object) -> subprocess.Popen:
    """Run PRELUDE + code in a new Python process (argv[1:] = args), stdout piped line by line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.Popen([sys.executable, "-c", PRELUDE + textwrap.dedent(code), *map(str, args)], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float = 20.0, step: float = 0.002) -> None:
    """Poll until condition() is true."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("condition not met")
        time.sleep(step)



@pytest.fixture
def built(settings, corpus_copy):
    """The corpus copy indexed with the hash embedder."""
    index_paths([corpus_copy], settings, HashEmbedder())
    return settings


def generations(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("gen-"))


def search(settings, question: str = "Armenia cancel CSTO exercises") -> list:
    retriever = Retriever(settings, embedder=HashEmbedder())
    try:
        return retriever.search(question, k=3)
    finally:
        retriever.store.close()


# ---------------------------------------------------------------- damaged indexes


def _live(root: Path) -> Path:
    return root / (root / "CURRENT").read_text().strip()


def _zero(path: Path) -> None:
    path.write_bytes(bytes(os.path.getsize(path)))


DAMAGE = {  # how to damage a live generation g -> words the one-line error must contain
    "manifest garbage": (lambda g: (g / "manifest.json").write_bytes(b"\x00{not"), "manifest.json is not readable"),
    "manifest keys": (lambda g: (g / "manifest.json").write_text('{"format": 1}'), "manifest.json lacks"),
    "manifest missing": (lambda g: (g / "manifest.json").unlink(), "manifest.json is missing"),
    "sqlite truncated": (lambda g: os.truncate(g / "meta.sqlite", 3000), "meta.sqlite"),
    "sqlite zeroed": (lambda g: _zero(g / "meta.sqlite"), "meta.sqlite"),
    "sqlite missing": (lambda g: (g / "meta.sqlite").unlink(), "meta.sqlite is missing"),
    "vectors missing": (lambda g: (g / "vectors.npy").unlink(), "vectors.npy is missing"),
    "vectors short": (lambda g: os.truncate(g / "vectors.npy", 5000), "vectors.npy cannot be read"),
    "faiss missing": (lambda g: (g / "vectors.faiss").unlink(), "vectors.faiss is missing"),
    "faiss garbage": (lambda g: (g / "vectors.faiss").write_bytes(b"garbage" * 10), "vectors.faiss cannot be read"),
    "lexical missing": (lambda g: shutil.rmtree(g / "lexical"), "lexical is missing"),
    "current nowhere": (lambda g: (g.parent / "CURRENT").write_text("gen-gone\n"), "CURRENT points to gen-gone"),
    "current outside": (lambda g: (g.parent / "CURRENT").write_text("../../etc\n"), "not a generation inside"),
    "current binary": (lambda g: (g.parent / "CURRENT").write_bytes(b"\xff\x00" * 50), "not a generation inside"),
    "current missing": (lambda g: (g.parent / "CURRENT").unlink(), "CURRENT is missing"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_every_damage_is_one_line_listed_by_check_and_cured_by_rebuild(built, corpus_copy, damage):
    root = built.index
    harm, what = DAMAGE[damage]
    harm(_live(root))
    with pytest.raises(RagError) as info:
        search(built)  # opening or searching: whichever first touches the damaged part
    message = str(info.value)
    assert what in message and "--rebuild" in message and "\n" not in message, message
    try:  # an update either refuses, pointing at the rebuild, or (FAISS is rebuilt from vectors.npy) just works
        index_paths([corpus_copy], built, HashEmbedder())
    except RagError as error:
        assert "--rebuild" in str(error)
    result = check_index(root)
    assert not result.ok and any(what.split(" ")[0] in p for p in result.problems), result.problems
    report = index_paths([corpus_copy], built, HashEmbedder(), rebuild=True)
    assert report.documents == 5 and check_index(root).ok, check_index(root).problems
    assert search(built)[0].source == ARMENIA


def test_check_finds_what_opening_does_not(built):
    live = _live(built.index)
    import sqlite3

    db = sqlite3.connect(live / "meta.sqlite")
    db.execute("UPDATE chunks SET orig_end = orig_end + 100000 WHERE id = 3")
    db.execute("UPDATE documents SET content_hash = '' WHERE id = 1")
    db.commit()
    db.close()
    os.chmod(live / "vectors.npy", 0o666)
    problems = check_index(built.index).problems
    assert problems == ["1 index files are writable by group or others (e.g. vectors.npy)",
                        "1 passages have a span outside their document (or text that is not theirs)",
                        "1 documents have no content hash"]


def test_an_index_that_is_a_plain_file_is_one_line(settings, corpus_copy, tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("not an index")
    settings.index = plain
    with pytest.raises(RagError, match="is a file, not an index folder"):
        search(settings)
    with pytest.raises(ConfigError, match="is a file, not an index folder"):
        index_paths([corpus_copy], settings, HashEmbedder())
    assert plain.read_text() == "not an index"


def _rag(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=120)


def test_rag_check_and_docs_on_the_command_line(built):
    root = str(built.index)
    good = _rag("check", "--index", root)
    assert good.returncode == 0 and good.stdout.startswith(f"ok: {root}")
    (_live(built.index) / "vectors.npy").unlink()
    (built.index / "CURRENT").write_text("../../etc\n")
    docs = _rag("docs", "--index", root)
    assert docs.returncode == 1 and len(docs.stderr.strip().splitlines()) == 1 and "Traceback" not in docs.stderr
    assert "CURRENT names '../../etc'" in docs.stderr and "--rebuild" in docs.stderr
    bad = _rag("check", "--index", root, "--json")
    assert bad.returncode == 1 and json.loads(bad.stdout)["problems"] == [
        "CURRENT names '../../etc', not a generation inside the index folder"]


# ---------------------------------------------------------------- one writer at a time

HOLD_LOCK = '''
    from rag.index.lock import writer_lock
    with writer_lock(Path(sys.argv[1])):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
'''


def test_a_second_writer_waits_then_refuses_naming_the_pid_and_readers_are_not_blocked(built, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "zebra.txt").write_text("Zebras were counted in Kazakhstan.", encoding="utf-8")
    holder = spawn(HOLD_LOCK, built.index, 3)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.perf_counter()
        assert search(built)[0].source == ARMENIA  # a reader does not wait for the writer
        assert time.perf_counter() - started < 1
        built.write_lock_wait = 0.5
        started = time.perf_counter()
        with pytest.raises(IndexLockedError, match=f"being written by process {holder.pid}; waited 0.5 s"):
            index_paths([other], built, HashEmbedder())
        assert 0.5 <= time.perf_counter() - started < 2
        built.write_lock_wait = 20
        report = index_paths([other], built, HashEmbedder())  # waits for the first writer, then goes
        assert report.added == ["zebra.txt"] and report.documents == 6
    finally:
        holder.kill()
        holder.wait()


TWO_WRITERS = '''
    settings = Settings(index=Path(sys.argv[1]))
    report = index_paths([Path(sys.argv[2])], settings, TinyEmbedder(delay=0.01))
    print(report.documents, flush=True)
'''


def test_two_writers_at_once_lose_nothing(settings, tmp_path):
    folders = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(3):
            (folder / f"{name}{i}.txt").write_text(f"Note {name}{i} about the Caspian Sea. " * 30, encoding="utf-8")
        folders.append(folder)
    writers = [spawn(TWO_WRITERS, settings.index, folder) for folder in folders]
    outputs = [w.communicate(timeout=60) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], outputs
    assert sorted(int(out.strip()) for out, _ in outputs) == [3, 6]  # one wrote first, the other merged into it
    assert len(IndexStore(settings.index).documents()) == 6 and check_index(settings.index).ok


def test_a_stale_lock_of_a_dead_writer_is_no_obstacle(built, corpus_copy):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (built.index / LOCK_FILE).write_text(dead.stdout)
    (corpus_copy / "new.txt").write_text("A new note about Tajikistan.", encoding="utf-8")
    started = time.perf_counter()
    assert index_paths([corpus_copy], built, HashEmbedder()).added == ["new.txt"]
    assert time.perf_counter() - started < 2
    assert (built.index / LOCK_FILE).read_text() == ""  # a clean exit leaves no pid behind


# ---------------------------------------------------------------- crashes and readers during writes

KILLABLE_WRITER = '''
    import rag.index.embedded.writer as writer
    moment = sys.argv[3]
    if moment == "write":  # widen the window while the new generation is being written
        real_faiss = writer._write_faiss
        writer._write_faiss = lambda *a: (time.sleep(1.0), real_faiss(*a))[1]
    if moment == "cleanup":  # ... or after CURRENT flipped, before old generations are removed
        real_cleanup = writer.remove_old_generations
        writer.remove_old_generations = lambda *a, **k: (time.sleep(1.0), real_cleanup(*a, **k))[1]
    print("start", flush=True)
    index_paths([Path(sys.argv[2])], Settings(index=Path(sys.argv[1])), TinyEmbedder(delay=0.02), rebuild=True)
    print("done", flush=True)
'''


@pytest.mark.parametrize("moment", ["embed", "write", "cleanup"])
def test_kill_9_during_a_reindex_leaves_the_old_or_the_new_generation(built, corpus_copy, moment):
    root = built.index
    old = _live(root).name
    (corpus_copy / "kill.txt").write_text("A note written just before the kill, about Turkmenistan.", encoding="utf-8")
    writer = spawn(KILLABLE_WRITER, root, corpus_copy, moment)
    assert writer.stdout.readline().strip() == "start"
    if moment == "embed":
        time.sleep(0.3)
    elif moment == "write":
        wait_for(lambda: any(p.name.startswith(".tmp-") for p in root.iterdir()))
    else:
        wait_for(lambda: _live(root).name != old)
    writer.kill()
    writer.wait()
    live = _live(root).name
    assert live == old if moment != "cleanup" else live != old
    sources = {d.source for d in IndexStore(root).documents()}
    assert sources == {p.name for p in CORPUS.iterdir()} | ({"kill.txt"} if live != old else set())
    assert check_index(root).ok and search(built)[0].source == ARMENIA
    (corpus_copy / "after.txt").write_text("A note written after the kill, about Kazakhstan.", encoding="utf-8")
    report = index_paths([corpus_copy], built, HashEmbedder())  # the next write converges and cleans up
    assert report.documents == 7 and check_index(root).ok
    assert generations(root) == [_live(root).name] and not [p for p in root.iterdir() if p.name.startswith(".tmp-")]


REINDEX_LOOP = '''
    settings, folder = Settings(index=Path(sys.argv[1])), Path(sys.argv[2])
    for i in range(int(sys.argv[3])):
        (folder / "changing.txt").write_text(f"Revision {i} of a note about the Aral Sea. " * 40)
        index_paths([folder], settings, TinyEmbedder())
        print(i, flush=True)
'''


def test_readers_never_fail_while_another_process_reindexes(built, corpus_copy):
    long_lived = Retriever(built, embedder=HashEmbedder())  # like a UI: opened once, kept
    writer = spawn(REINDEX_LOOP, built.index, corpus_copy, 6)
    searches, failures = 0, []
    while writer.poll() is None:
        for retriever in (long_lived, None):
            try:
                hits = retriever.search("Armenia cancel CSTO exercises", k=3) if retriever else search(built)
                assert hits[0].source == ARMENIA and hits[0].original
                searches += 1
            except Exception as error:  # noqa: BLE001 - counted, then reported
                failures.append(repr(error))
    assert writer.returncode == 0, writer.stderr.read()
    assert failures == [] and searches > 20, (searches, failures[:3])
    assert long_lived.store.folder.exists()  # its generation outlived six writes
    long_lived.store.close()
    index_paths([corpus_copy], built, HashEmbedder(), rebuild=True)
    assert generations(built.index) == [_live(built.index).name]  # released, so removed by the next write


def test_an_old_generation_stays_while_a_reader_holds_it(built, corpus_copy):
    reader = IndexStore(built.index)
    (corpus_copy / "new.txt").write_text("A note about the Caspian.", encoding="utf-8")
    index_paths([corpus_copy], built, HashEmbedder())
    assert reader.folder.exists() and len(reader.documents()) == 5 and not reader.is_current()
    reader.close()
    (corpus_copy / "new2.txt").write_text("Another note about the Caspian.", encoding="utf-8")
    index_paths([corpus_copy], built, HashEmbedder())
    assert not reader.folder.exists() and len(generations(built.index)) == 1


# ---------------------------------------------------------------- nothing outside rag's own folders


def test_foreign_folders_survive_and_only_rag_leftovers_are_cleaned(built, corpus_copy):
    root = built.index
    (root / "gen-x").mkdir()
    (root / "gen-x" / "precious.txt").write_text("keep me")
    (root / ".tmp-foreign").mkdir()
    stale = root / ".tmp-deadwriter"
    stale.mkdir()
    (stale / MARKER).write_text(json.dumps({"created_by": "rag", "pid": 999999}))
    for i in range(2):
        (corpus_copy / f"n{i}.txt").write_text(f"Note {i} about Uzbekistan.", encoding="utf-8")
        index_paths([corpus_copy], built, HashEmbedder())
    assert (root / "gen-x" / "precious.txt").read_text() == "keep me" and (root / ".tmp-foreign").is_dir()
    assert not stale.exists() and generations(root) == sorted(["gen-x", _live(root).name])
    assert any("gen-x: not made by (this) rag; left alone" == n for n in check_index(root).notes)


def test_a_non_empty_folder_that_is_not_an_index_is_never_written(settings, corpus_copy, tmp_path):
    target = tmp_path / "mine"
    (target / "gen-1").mkdir(parents=True)
    (target / "notes.txt").write_text("my notes")
    before = sorted(p.name for p in target.rglob("*"))
    settings.index = target
    with pytest.raises(ConfigError, match="is not empty and holds no index"):
        index_paths([corpus_copy], settings, HashEmbedder())
    assert sorted(p.name for p in target.rglob("*")) == before
    result = _rag("index", str(corpus_copy), "--index", str(target))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "holds no index" in result.stderr and sorted(p.name for p in target.rglob("*")) == before


def test_index_files_get_explicit_modes_whatever_the_umask(settings, corpus_copy):
    old = os.umask(0)
    try:
        index_paths([corpus_copy], settings, HashEmbedder())
    finally:
        os.umask(old)
    root = settings.index
    for path in [root, *root.rglob("*")]:
        assert file_mode(path) == (0o755 if path.is_dir() else 0o644), path


# ---------------------------------------------------------------- a source is an identity


def test_same_named_files_from_two_folders_keep_distinct_sources(settings, tmp_path):
    x, y = tmp_path / "X", tmp_path / "Y"
    x.mkdir()
    y.mkdir()
    (x / "report.txt").write_text("The X report says the pipeline opened in May.", encoding="utf-8")
    (y / "report.txt").write_text("The Y report says the dam collapsed in June.", encoding="utf-8")
    report = index_paths([x, y], settings, HashEmbedder())
    assert report.added == ["report.txt", "Y/report.txt"]
    store = IndexStore(settings.index)
    assert store.document_original("report.txt").startswith("The X report")
    assert store.document_original("Y/report.txt").startswith("The Y report")
    hit = store.passages(store.dense_search(HashEmbedder().embed_query("dam collapsed June"), 1))[0]
    assert hit.source == "Y/report.txt" and hit.original == (y / "report.txt").read_text()[hit.start:hit.end]
    store.close()
    again = index_paths([x, y], settings, HashEmbedder())  # names are stable across runs
    assert not again.changed and sorted(again.unchanged) == ["Y/report.txt", "report.txt"]


def test_an_empty_temp_folder_of_a_killed_writer_is_cleaned_but_foreign_files_survive(tmp_path):
    from rag.index.generations import remove_old_generations

    root = tmp_path / "index"
    (root / ".tmp-w4242-deadbeef").mkdir(parents=True)  # a writer killed between mkdir and marking
    (root / ".tmp-foreign").mkdir()  # empty, but not named like rag's writer folders
    (root / ".tmp-w1-mine").mkdir()
    (root / ".tmp-w1-mine" / "notes.txt").write_text("mine", encoding="utf-8")
    removed = remove_old_generations(root, keep="gen-none")
    assert removed == [".tmp-w4242-deadbeef"]
    assert (root / ".tmp-foreign").is_dir() and (root / ".tmp-w1-mine" / "notes.txt").is_file()
