"""Reading every supported file type, skipping what can't be used, walking folders."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from rag.errors import IngestError
from rag.ingest.readers import SUPPORTED_SUFFIXES, iter_files, load_document, load_documents
from rag.types import Document, Skipped

CORPUS = Path(__file__).parent.parent / "examples" / "corpus"

ARTICLE_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Kazakhstan &amp; Russia | Example News</title>
<meta property="article:published_time" content="2024-03-05T10:00:00Z">
<script>var tracker = "SECRET_SCRIPT_TEXT";</script><style>body { color: red }</style></head>
<body>
<nav><ul><li><a href="/">NAVLINK Home</a></li><li><a href="/world">NAVLINK World</a></li></ul></nav>
<article>
<h1>Kazakhstan reroutes its oil exports</h1>
<p>Kazakhstan said it would increase oil exports via the Caspian Sea by 1.5 million tonnes,
pumping oil into the Baku-Ceyhan pipeline which runs from Azerbaijan to the Mediterranean.</p>
<p>The pipeline through which Kazakhstan sends about 80 percent of its oil exports runs
through Russia to the Black Sea port of Novorossiysk, less than 100 miles from Crimea.</p>
</article>
<footer>FOOTERTEXT Copyright 2024</footer>
<script>alert("SECRET_SCRIPT_TEXT")</script>
</body></html>
"""


def _pdf_string(text: str) -> str:
    """Escape text for a PDF literal string."""
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF whose pages show the given lines in Helvetica."""
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        shown = " T* ".join(f"{_pdf_string(line)} Tj" for line in lines)
        stream = f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET".encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def _write(path: Path, content: str | bytes) -> Path:
    """Write text (utf-8) or bytes, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def _document(result: Document | Skipped) -> Document:
    """The result, asserted to be a Document."""
    assert isinstance(result, Document), result
    return result


def test_supported_suffixes() -> None:
    assert SUPPORTED_SUFFIXES == {".txt", ".md", ".html", ".htm", ".pdf", ".docx"}


def test_txt_from_corpus() -> None:
    path = CORPUS / "001_8616b1cfa831146b.txt"
    doc = _document(load_document(path, root=CORPUS))
    assert doc.source == "001_8616b1cfa831146b.txt"
    assert doc.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert doc.original == path.read_text(encoding="utf-8")
    assert "spot_img" not in doc.text and "Lavrov told the BelTA news agency" in doc.text
    assert len(doc.offset_map) == len(doc.text)
    assert doc.title.startswith("Russia fumes at the West’s charm offensive")
    # "Wednesday, October 8, 2025" heads the scraped page: the day it was saved, not the article's date.
    assert doc.date is None and doc.date_source == "none" and "page chrome" in doc.metadata["date_note"]
    assert doc.metadata["type"] == "txt" and doc.metadata["encoding"] == "utf-8"


def test_markdown_and_utf8_bom(tmp_path: Path) -> None:
    path = _write(tmp_path / "notes.md", "\ufeff# Notes on CSTO\n\nArmenia cancelled the **exercises**.\n".encode())
    doc = _document(load_document(path))
    assert doc.source == "notes.md"
    assert doc.original.startswith("# Notes")  # BOM gone
    assert doc.text == "# Notes on CSTO\n\nArmenia cancelled the **exercises**."
    assert doc.title == "# Notes on CSTO"


def test_html_main_text_without_script_or_nav(tmp_path: Path) -> None:
    doc = _document(load_document(_write(tmp_path / "page.html", ARTICLE_HTML)))
    assert "Baku-Ceyhan pipeline" in doc.text and "about 80 percent of its oil exports" in doc.text
    for noise in ("SECRET_SCRIPT_TEXT", "NAVLINK", "color: red", "FOOTERTEXT"):
        assert noise not in doc.text
    assert doc.title == "Kazakhstan & Russia | Example News"
    assert doc.date == "2024-03-05"
    assert "\n\n" in doc.text  # blocks become paragraphs
    assert doc.metadata["type"] == "html"


def test_html_fallback_when_trafilatura_finds_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import trafilatura

    monkeypatch.setattr(trafilatura, "extract", lambda *args, **kwargs: None)
    doc = _document(load_document(_write(tmp_path / "page.htm", ARTICLE_HTML)))
    assert doc.metadata["extractor"] == "beautifulsoup"
    assert "Baku-Ceyhan pipeline" in doc.text
    assert "SECRET_SCRIPT_TEXT" not in doc.text and "NAVLINK" not in doc.text


def test_docx_paragraphs_and_tables(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "CSTO briefing"
    document.add_heading("Armenia and the CSTO", level=1)
    document.add_paragraph("Armenia cancelled the exercises after the CSTO refused to help.")
    document.add_paragraph("")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([["Country", "Exports"], ["Kazakhstan", "80 percent"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("After the table.")
    path = tmp_path / "brief.docx"
    document.save(path)
    doc = _document(load_document(path))
    assert doc.text == (
        "Armenia and the CSTO\n\nArmenia cancelled the exercises after the CSTO refused to help.\n\n"
        "Country | Exports\nKazakhstan | 80 percent\n\nAfter the table."
    )
    assert doc.title == "CSTO briefing"


def test_pdf_text_and_page_offsets(tmp_path: Path) -> None:
    pages = [["Kazakhstan oil exports (page one)", "run through Russia."], ["Second page: Armenia and the CSTO."]]
    doc = _document(load_document(_write(tmp_path / "report.pdf", make_pdf(pages))))
    assert "Kazakhstan oil exports (page one)" in doc.text and "Second page: Armenia and the CSTO." in doc.text
    page_starts = doc.metadata["pages"]
    assert [number for _, number in page_starts] == [1, 2]
    assert page_starts[0][0] == 0
    assert doc.original[page_starts[1][0] :].startswith("Second page")
    assert doc.original[page_starts[1][0] - 2 : page_starts[1][0]] == "\n\n"
    assert doc.title == "Kazakhstan oil exports (page one)"


@pytest.mark.parametrize("content", [b"%PDF-1.4 this is not really a pdf", b"not a pdf at all", b""])
def test_malformed_pdf_skipped_with_one_line_reason(
    tmp_path: Path, content: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    result = load_document(_write(tmp_path / "broken.pdf", content))
    assert isinstance(result, Skipped)
    assert result.source == "broken.pdf"
    assert result.reason.startswith("malformed PDF") and "\n" not in result.reason
    assert "Traceback" not in capfd.readouterr().err


def test_truncated_pdf_does_not_raise(tmp_path: Path) -> None:
    data = make_pdf([["Some text on the only page."]])
    result = load_document(_write(tmp_path / "cut.pdf", data[: len(data) // 2]))
    assert isinstance(result, (Document, Skipped))


def test_malformed_docx_skipped(tmp_path: Path) -> None:
    result = load_document(_write(tmp_path / "broken.docx", b"PK\x03\x04 not a zip"))
    assert isinstance(result, Skipped) and result.reason.startswith("malformed DOCX")


def test_binary_file_skipped(tmp_path: Path) -> None:
    result = load_document(_write(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
    assert result == Skipped("image.txt", "binary file")


def test_latin1_file_decoded_with_note(tmp_path: Path) -> None:
    path = _write(tmp_path / "old.txt", "Café in Zürich: naïve façade.\n".encode("latin-1"))
    doc = _document(load_document(path))
    assert doc.text == "Café in Zürich: naïve façade."
    assert doc.metadata["encoding"] == "cp1252"
    assert doc.metadata["notes"] == ["not valid UTF-8; decoded as cp1252"]


def test_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path: Path) -> None:
    doc = _document(load_document(_write(tmp_path / "odd.txt", b"caf\xe9 \x81 done")))
    assert doc.metadata["encoding"] == "latin-1" and doc.text.startswith("café")


def test_utf16_with_bom_is_text_not_binary(tmp_path: Path) -> None:
    doc = _document(load_document(_write(tmp_path / "wide.txt", "Hello wide world.".encode("utf-16"))))
    assert doc.text == "Hello wide world."


@pytest.mark.parametrize("content", [b"", b"  \n\n\t\n", b"Share\n\nFacebook\n\nspot_img\n"])
def test_empty_or_boilerplate_only_skipped(tmp_path: Path, content: bytes) -> None:
    assert load_document(_write(tmp_path / "empty.txt", content)) == Skipped("empty.txt", "no text")


def test_unknown_type_skipped(tmp_path: Path) -> None:
    assert load_document(_write(tmp_path / "data.xyz", "x")) == Skipped("data.xyz", "unsupported type .xyz")
    assert load_document(_write(tmp_path / "README", "x")) == Skipped("README", "unsupported type (no extension)")


def test_large_file_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.txt", b"word " * 220_000)  # 1.05 MiB
    result = load_document(path, max_file_mb=1)
    assert isinstance(result, Skipped) and result.reason.startswith("larger than 1 MB")
    assert isinstance(load_document(path, max_file_mb=2), Document)


def _tree(tmp_path: Path) -> Path:
    """A folder with nested, hidden and unsupported files."""
    root = tmp_path / "docs"
    _write(root / "b.txt", "Second file text.")
    _write(root / "a.md", "First file text.")
    _write(root / "sub" / "c.txt", "Nested file text.")
    _write(root / "sub" / "deeper" / "d.html", ARTICLE_HTML)
    _write(root / "notes.xyz", "unsupported")
    _write(root / ".hidden.txt", "hidden file")
    _write(root / ".git" / "config.txt", "git internals")
    _write(root / "sub" / ".cache" / "e.txt", "cached")
    return root


def test_iter_files_recursive_sorted_without_hidden(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    found = [p.relative_to(root).as_posix() for p in iter_files([root])]
    assert found == ["a.md", "b.txt", "notes.xyz", "sub/c.txt", "sub/deeper/d.html"]


def test_iter_files_named_file_and_no_duplicates(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    found = list(iter_files([root / "b.txt", root, root / ".hidden.txt"]))
    assert found.count(root / "b.txt") == 1
    assert root / ".hidden.txt" in found  # named explicitly, so it is read


def test_load_documents_over_folder(tmp_path: Path) -> None:
    results = list(load_documents([_tree(tmp_path)]))
    assert [r.source for r in results] == ["a.md", "b.txt", "notes.xyz", "sub/c.txt", "sub/deeper/d.html"]
    assert results[2] == Skipped("notes.xyz", "unsupported type .xyz")
    assert all(isinstance(r, Document) for i, r in enumerate(results) if i != 2)


def test_load_documents_real_corpus() -> None:
    results = list(load_documents([CORPUS]))
    assert [r.source for r in results] == sorted(p.name for p in CORPUS.glob("*.txt"))
    assert all(isinstance(r, Document) and r.text for r in results)


def test_missing_path_raises_one_line_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(IngestError, match="no such file or folder") as info:
        load_documents([CORPUS, missing])  # raised at call time, before any file is read
    assert "\n" not in str(info.value)
    with pytest.raises(IngestError):
        list(iter_files([missing]))


def test_heavy_libraries_are_imported_lazily() -> None:
    code = (
        "import sys, rag.ingest.readers\n"
        "heavy = {'trafilatura', 'pypdf', 'docx', 'bs4'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)
