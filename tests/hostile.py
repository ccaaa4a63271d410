"""A hostile corpus built on the fly: every kind of file that once hung, exploded or crashed ingestion.

`build_hostile_corpus(folder)` writes the files and returns, per file name, what rag must do with it:
("document", None) when it is indexed, or ("skipped", words) when it is skipped with a reason
containing `words`. Sizes are small enough to run in seconds, big enough to show quadratic work.
"""

from __future__ import annotations

import io
import os
import random
import string
import zipfile
from collections.abc import Callable
from pathlib import Path

from .test_ingest import make_pdf

GOOD_TEXT = ("Kyrgyzstan postponed the CSTO military exercises planned on its territory. "
             "The ministry said the drills would take place next year instead.\n")

Expectation = tuple[str, str | None]


def zip_bomb_docx(unpacked_mb: int) -> bytes:
    """A real .docx (python-docx opens it) whose word/document.xml inflates to `unpacked_mb` MB of one paragraph."""
    import docx

    source = io.BytesIO()
    docx.Document().save(source)
    body = (b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>' + b"bomb " * (unpacked_mb * 209_715)
            + b"</w:t></w:r></w:p></w:body></w:document>")
    out = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for member in original.infolist():
            data = body if member.filename == "word/document.xml" else original.read(member)
            bomb.writestr(member.filename, data)
    return out.getvalue()


def _random_word_soup(size: int, alphabet: str) -> str:
    """`size` characters drawn from `alphabet` (seeded: the same every run)."""
    return "".join(random.Random(14).choices(alphabet, k=size))


def _files(bomb_mb: int) -> dict[str, tuple[Callable[[], bytes], Expectation]]:
    """File name -> (content, expectation) for the plain hostile files."""
    pdf = make_pdf([["A real page of text about the Caspian Sea."]])
    return {
        "good.txt": (lambda: GOOD_TEXT.encode(), ("document", None)),
        "good.md": (lambda: b"# Notes\n\nKazakhstan reroutes its oil exports via the Caspian.\n", ("document", None)),
        "binary.txt": (lambda: random.Random(1).randbytes(20_000), ("skipped", "binary")),
        "nul_bytes.txt": (lambda: b"Some text\x00with NUL\x00bytes inside." * 50, ("skipped", "binary")),
        "utf16.txt": (lambda: ("Wide text about Armenia and the CSTO. " * 20).encode("utf-16"), ("document", None)),
        "utf16_nobom.txt": (lambda: ("Wide text without a BOM. " * 20).encode("utf-16-le"), ("skipped", "binary")),
        "empty.pdf": (lambda: b"", ("skipped", "empty file")),
        "fake.pdf": (lambda: b"%PDF-1.4\nthis is not really a pdf at all\n%%EOF", ("skipped", "")),
        "truncated.pdf": (lambda: pdf[: len(pdf) // 2], ("skipped", "")),
        "junk.docx": (lambda: os.urandom(5000), ("skipped", "malformed DOCX")),
        # XML that zips ~1000:1: refused from the zip directory, before anything is unpacked.
        "bomb.docx": (lambda: zip_bomb_docx(bomb_mb), ("skipped", "unpacks to")),
        "oneliner.txt": (lambda: _random_word_soup(2_000_000, string.ascii_letters).encode(),
                         ("skipped", "no word boundaries")),
        "repeated.txt": (lambda: b"a" * 1_000_000, ("skipped", "one character repeated")),
        "markup.md": (lambda: b"|---|---|---|\n<><>{}[]##**__\n" * 20_000, ("skipped", "markup without text")),
        # One-letter words: real word boundaries, but 5,000 passages per MB, over the default budget of 4,000.
        "budget.txt": (lambda: " ".join(_random_word_soup(60_000, string.ascii_lowercase)).encode(),
                       ("skipped", "max_passages_per_mb")),
        "headings.md": (lambda: "".join(f"# Heading {i}\n" for i in range(100_000)).encode(),
                        ("skipped", "markup without text (100,000 headings")),
        "deep.html": (lambda: (b"<html><body>" + b"<div>" * 100_000 + b"Deep text about Tajikistan."
                               + b"</div>" * 100_000 + b"</body></html>"), ("skipped", "markup without text")),
        "script_only.html": (lambda: b"<html><head><script>" + b"var x = 1;\n" * 50_000 + b"</script></head></html>",
                             ("skipped", "no text")),
        "many_titles.html": (lambda: b"<title>" * 200_000 + b"<p>Some text.</p>", ("skipped", "markup without text")),
        "new\nline.txt": (lambda: b"A file whose name holds a newline, about Uzbekistan.", ("document", None)),
        "tab\tand -dash ; semi.txt": (lambda: b"Odd characters in the name, about Tajikistan.", ("document", None)),
        "\u00fcnic\u00f6de \u2603.md": (lambda: "Unicode name, about Turkmenistan.".encode(), ("document", None)),
    }


def build_hostile_corpus(folder: Path, outside: Path, bomb_mb: int = 200) -> dict[str, Expectation]:
    """Write the hostile files into `folder` (and a secret into `outside`); returns name -> expectation.

    Index it with max_file_mb below `bomb_mb` (and at least 3), so that the zip bomb is over the limit.
    """
    folder.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    expected: dict[str, Expectation] = {}
    for name, (content, expectation) in _files(bomb_mb).items():
        (folder / name).write_bytes(content())
        expected[name] = expectation
    bad_bytes = os.fsencode(folder) + b"/bad\xffbyte.txt"  # not valid UTF-8: the name comes back with surrogates
    with open(bad_bytes, "wb") as fh:
        fh.write(b"A name that is not UTF-8, about Kazakhstan.")
    expected[os.fsdecode(b"bad\xffbyte.txt")] = ("document", None)
    os.mkfifo(folder / "fifo.txt")
    expected["fifo.txt"] = ("skipped", "not a regular file")
    (folder / "loop_a.txt").symlink_to("loop_b.txt")
    (folder / "loop_b.txt").symlink_to("loop_a.txt")
    expected["loop_a.txt"] = expected["loop_b.txt"] = ("skipped", "symlink loop")
    (folder / "sub").mkdir()
    (folder / "sub" / "up").symlink_to("..", target_is_directory=True)
    expected["sub/up"] = ("skipped", "symlink loop")
    secret = outside / "secret.txt"
    secret.write_text("Secret text outside the folder about passwords.", encoding="utf-8")
    (folder / "passwd_link.txt").symlink_to(secret)
    expected["passwd_link.txt"] = ("skipped", "outside the given folders")
    (folder / "zero.txt").symlink_to("/dev/zero")
    expected["zero.txt"] = ("skipped", "outside the given folders")
    (folder / "inside_link.txt").symlink_to("good.txt")
    expected["inside_link.txt"] = ("skipped", "same file as good.txt")
    return expected
