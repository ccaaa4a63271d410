"""A non-editable install carries the prompts and the UI: build the wheel, install it apart, load from it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built offline with the setuptools already installed."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(REPO)], check=True, capture_output=True, timeout=300)
    [built] = out.glob("rag-*.whl")
    return built


def test_wheel_holds_prompts_and_ui(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"rag/prompts/answer.md", "rag/prompts/condense.md", "rag/ui/app.py", "rag/ui/render.py"} <= names
    assert {f"rag/judge/model/{n}" for n in ("judge.onnx", "tokenizer.json", "manifest.json", "MODEL_CARD.md")} <= names
    assert not any(n.startswith("tests/") for n in names)


def test_installed_wheel_loads_prompts_and_ui_from_elsewhere(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    probe = (
        "import rag, rag.ui.app\n"
        "from rag.answer.prompts import answer_messages\n"
        "assert rag.__file__.startswith(%r), rag.__file__\n"
        "print(answer_messages('Q?', [])[0].text[:40])\n" % str(target)
    )
    # run from an unrelated folder with the installed copy first on the path: no source tree to fall back on
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "You answer questions" in result.stdout
