"""Hostile input never hangs, explodes or crashes ingestion: each bad file is one skip with a reason, in seconds."""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from rag.errors import IndexInterrupted
from rag.index.build import index_paths, read_files
from rag.index.integrity import check_index
from rag.index.embedded.store import IndexStore
from rag.ingest.degenerate import degenerate_reason
from rag.ingest.files import Unreadable, discover, read_capped
from rag.ingest.readers import load_document, text_name
from rag.search.retriever import Retriever
from rag.types import Document, Skipped

from .conftest import CORPUS, HashEmbedder
from .hostile import GOOD_TEXT, build_hostile_corpus


@contextmanager
def deadline(seconds: int):
    """Fail (instead of hanging the suite) when the block runs longer than `seconds`."""
    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_hostile_corpus_is_indexed_in_seconds_with_one_outcome_per_file(settings, tmp_path):
    expected = build_hostile_corpus(tmp_path / "docs", tmp_path / "outside", bomb_mb=20)
    settings.max_file_mb = 10
    started = time.perf_counter()
    with deadline(60):
        report = index_paths([tmp_path / "docs"], settings, HashEmbedder())
    elapsed = time.perf_counter() - started
    skipped = {s.source: s.reason for s in report.skipped}
    for name, (outcome, words) in expected.items():
        source = text_name(name)
        if outcome == "document":
            assert source in report.added, (name, skipped.get(source))
        else:
            assert words in skipped[source], (name, skipped[source])
    assert len(report.added) + len(report.skipped) == len(expected)
    assert elapsed < 20, elapsed
    assert report.chunks < 20  # nothing floods the index (the 100,000 headings alone would make 2,940 passages)
    assert check_index(settings.index).ok
    hits = Retriever(settings, embedder=HashEmbedder()).search("Kyrgyzstan postponed CSTO exercises", k=1)
    assert hits[0].source == "good.txt"
    sources = {d.source for d in IndexStore(settings.index).documents()}
    assert "new\nline.txt" in sources and "bad\\xffbyte.txt" in sources
    assert not any("Secret text" in text for text in HashEmbedder().embedded_texts)


def test_progress_counts_files_and_names_the_file_being_read_and_embedded(settings, tmp_path, capsys):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("alpha_notes.txt", "beta_notes.txt"):
        (folder / name).write_text(GOOD_TEXT * 3, encoding="utf-8")
    index_paths([folder], settings, HashEmbedder(), progress=True)
    err = capsys.readouterr().err
    assert "Reading" in err and "file" in err and "alpha_notes.txt" in err and "beta_notes.txt" in err
    assert "Embedding" in err and "passage" in err


def test_ctrl_c_says_in_one_line_that_the_previous_index_stays_live(seed_index, monkeypatch, tmp_path):
    before = IndexStore(seed_index.index).folder
    (tmp_path / "new.txt").write_text(GOOD_TEXT, encoding="utf-8")

    class Interrupting(HashEmbedder):
        def embed_documents(self, texts, progress=False):
            raise KeyboardInterrupt

    with pytest.raises(IndexInterrupted) as info:  # a RagError: the CLI prints it as one line
        index_paths([tmp_path / "new.txt"], seed_index, Interrupting())
    assert str(info.value).startswith("interrupted:") and "previous index is still live" in str(info.value)
    assert IndexStore(seed_index.index).folder == before


def test_the_cli_prints_one_line_on_ctrl_c(settings, monkeypatch, tmp_path, capsys):
    import rag.cli
    import rag.index.embed

    class Interrupting(HashEmbedder):
        def embed_documents(self, texts, progress=False):
            raise KeyboardInterrupt

    monkeypatch.setattr(rag.index.embed, "get_embedder", lambda *args, **kwargs: Interrupting())
    monkeypatch.setattr(sys, "argv", ["rag", "index", str(CORPUS), "--index", str(settings.index), "--json"])
    with pytest.raises(SystemExit) as info:
        rag.cli.main()
    err = capsys.readouterr().err.strip()
    assert info.value.code == 1 and len(err.splitlines()) == 1 and err.startswith("error: interrupted")


# ---------------------------------------------------------------- files: types, links, caps


def test_a_fifo_is_skipped_without_being_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "ok.txt").write_text(GOOD_TEXT, encoding="utf-8")
    with deadline(10):  # opening a pipe for reading blocks until a writer comes: this would hang
        items = list(read_files([tmp_path]))
        direct = load_document(tmp_path / "pipe.txt")
    assert [type(i).__name__ for i in items] == ["Document", "Skipped"]
    assert items[1].reason.startswith("not a regular file (named pipe)")
    assert isinstance(direct, Skipped) and "named pipe" in direct.reason


def test_devices_are_skipped_unopened_even_when_named_or_linked(tmp_path):
    link = tmp_path / "zero.txt"
    link.symlink_to("/dev/zero")  # reading it would never end
    with deadline(10):
        named = list(read_files([Path("/dev/zero"), link]))
        direct = load_document(link)
    assert [s.reason for s in named] == ["not a regular file (device): not opened"] * 2
    assert direct.reason == "not a regular file (device): not opened"


def test_links_are_followed_only_inside_the_given_folders(tmp_path):
    folder, outside = tmp_path / "docs", tmp_path / "outside"
    (folder / ".private").mkdir(parents=True)
    outside.mkdir()
    (folder / ".private" / "kept.txt").write_text("Inside text about Armenia.", encoding="utf-8")
    (outside / "secret.txt").write_text("Secret text.", encoding="utf-8")
    (folder / "inside.txt").symlink_to(folder / ".private" / "kept.txt")
    (folder / "outside.txt").symlink_to(outside / "secret.txt")
    (folder / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (folder / "self.txt").symlink_to("self.txt")
    (folder / "elsewhere").symlink_to(outside, target_is_directory=True)
    found = {c.path.name: c.skip for c in discover([folder])}
    assert found["inside.txt"] is None
    assert found["outside.txt"] == "symlink pointing outside the given folders: not followed"
    assert found["elsewhere"] == "symlink pointing outside the given folders: not followed"
    assert found["dangling.txt"].startswith("cannot read file") and found["self.txt"] == "symlink loop"
    both = {c.path.name: c.skip for c in discover([folder, outside])}  # now the link's target is a given folder
    assert both["outside.txt"] is None and both["secret.txt"] == "same file as outside.txt, already read"
    assert both["elsewhere"] == "symlink to a folder: not followed (give that folder itself)"


def test_the_size_cap_counts_bytes_read_not_what_stat_says(tmp_path):
    proc = Path("/proc/self/smaps")  # a regular file whose stat size is 0, whatever it holds
    if not proc.exists() or os.stat(proc).st_size != 0:
        pytest.skip("needs Linux /proc")
    import rag.ingest.files as files

    with pytest.raises(Unreadable, match="larger than 0 MB"):
        files.read_capped(proc, 0)
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 300_000)
    with pytest.raises(Unreadable, match=r"larger than 1 MB \(1\.4 MB\)"):
        read_capped(big, 1)
    assert len(read_capped(big, 2)) == 1_500_000


def test_a_zip_bomb_docx_is_refused_before_it_is_unpacked(tmp_path):
    from .hostile import zip_bomb_docx

    path = tmp_path / "bomb.docx"
    path.write_bytes(zip_bomb_docx(30))
    assert path.stat().st_size < 1_000_000
    started = time.perf_counter()
    result = load_document(path, max_file_mb=5)
    assert isinstance(result, Skipped) and result.reason.startswith("DOCX unpacks to 30 MB, over the 5 MB limit")
    assert time.perf_counter() - started < 1


# ---------------------------------------------------------------- degenerate text


@pytest.mark.parametrize("text, words", [
    ("x" * 50_000, "one character repeated"),
    ("".join(f"## Section {i}\n\n" for i in range(2_000)), "markup without text (2,000 headings"),
    ("".join(chr(97 + (i * 7) % 26) for i in range(50_000)), "no word boundaries"),
    ("a,b;c." * 10_000, "no word boundaries"),
    ("|---|---|\n<><>{}[]##**\n" * 2_000, "markup without text"),
])
def test_degenerate_texts_are_named(text, words):
    assert words in degenerate_reason(text)


@pytest.mark.parametrize("text", [
    GOOD_TEXT * 200,
    "word " * 220_000,
    "# Heading\n\nA paragraph with some words in it.\n\n" * 1_500,  # many headings, each with text under it
    "哈萨克斯坦表示将通过里海增加石油出口。" * 500,  # written without spaces: normal text
    "| year | exports |\n|---|---|\n| 2022 | 1.5 |\n" * 300,
    "short",
])
def test_real_texts_pass(text):
    assert degenerate_reason(text) is None


def test_a_5mb_line_without_spaces_is_judged_in_seconds(tmp_path):
    path = tmp_path / "line.txt"
    path.write_bytes(b"abcdefghij" * 500_000)
    started = time.perf_counter()
    result = load_document(path)
    assert time.perf_counter() - started < 5
    assert isinstance(result, Skipped) and "no word boundaries" in result.reason


def test_the_passage_budget_is_a_setting(settings, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "prose.txt").write_text(GOOD_TEXT * 1_000, encoding="utf-8")  # 140 KB of prose, 200 passages
    (folder / "small.txt").write_text(GOOD_TEXT, encoding="utf-8")
    settings.max_passages_per_mb = 1_000
    report = index_paths([folder], settings, HashEmbedder())
    assert report.added == ["small.txt"]
    [skipped] = report.skipped
    assert skipped.source == "prose.txt" and "200 passages, over the budget of 134 for its size" in skipped.reason
    assert "max_passages_per_mb = 1000" in skipped.reason
    settings.max_passages_per_mb = 4_000
    assert index_paths([folder], settings, HashEmbedder()).added == ["prose.txt"]


def test_odd_file_names_round_trip_through_the_index(settings, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    names = ["new\nline.txt", "tab\there.txt", " spaced .txt", "-dash.txt", "☃ snow.md", "quote'\"s.txt"]
    for name in names:
        (folder / name).write_text(f"{GOOD_TEXT} File {name!r}.", encoding="utf-8")
    with open(os.fsencode(folder) + b"/latin\xe9.txt", "wb") as fh:
        fh.write(GOOD_TEXT.encode())
    report = index_paths([folder], settings, HashEmbedder())
    assert sorted(report.added) == sorted(names + ["latin\\xe9.txt"])
    again = index_paths([folder], settings, HashEmbedder())
    assert not again.changed and len(again.unchanged) == 7  # keys are stable, even for names that are not UTF-8
    os.remove(os.fsencode(folder) + b"/latin\xe9.txt")
    assert len(index_paths([folder], settings, HashEmbedder()).removed) == 1
    assert isinstance(load_document(folder / "new\nline.txt", folder), Document)
