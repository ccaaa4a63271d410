"""`rag chat` driven through a pipe and through a pseudo-terminal (fake chat model, hash embedder)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from .conftest import REPO

SCRIPT = """
import sys
from rag.answer.assistant import Assistant
from rag.chat import run_chat
from rag.config import Settings
from rag.search.retriever import Retriever
from tests.conftest import HashEmbedder
from tests.fakes import FakeChatModel
from tests.test_answer import cite_where

settings = Settings(index=sys.argv[1])
def reply(messages):
    if "Standalone question" in messages[-1].text:
        return "What did Kyrgyzstan do about the CSTO exercises?"
    return cite_where("CSTO refused", "Armenia, after the CSTO refused to help")(messages)
assistant = Assistant(settings, retriever=Retriever(settings, embedder=HashEmbedder()), llm=FakeChatModel(reply))
sys.exit(run_chat(assistant))
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_ANSWER__CHECK_CLAIMS"] = "false"
    env["PYTHONPATH"] = str(REPO)
    return env


def test_chat_in_a_pipe_answers_each_line(seed_index) -> None:
    lines = "Why did Armenia cancel CSTO exercises?\nAnd what did Kyrgyzstan do?\n/sources\n"
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(seed_index.index)], input=lines, text=True,
                            capture_output=True, timeout=120, cwd=REPO, env=_env())
    assert result.returncode == 0, result.stderr[-2000:]
    answers = result.stdout.split("\nSources:\n")
    assert len(answers) == 3 and "The CSTO refused to help Armenia" in answers[0]
    assert "searched for: What did Kyrgyzstan do about the CSTO exercises?" in result.stderr  # follow-up condensed
    assert "(cited)" in result.stdout  # /sources listed the last answer's passages
    assert "> " not in result.stdout  # no prompt in a pipe


def _read_until(fd: int, needle: bytes, timeout: float = 60) -> bytes:
    """Bytes from a pty until `needle` appears."""
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return seen


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_chat_at_a_terminal_prompts_and_quits(seed_index, tmp_path) -> None:
    controller, terminal = pty.openpty()
    env = {**_env(), "RAG_CACHE_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(seed_index.index)], stdin=terminal, stdout=terminal,
                            stderr=terminal, cwd=REPO, env=env, close_fds=True)
    os.close(terminal)
    try:
        assert b"/quit" in _read_until(controller, b"> ")
        os.write(controller, b"Why did Armenia cancel CSTO exercises?\n")
        shown = _read_until(controller, b"> ")
        assert b"Evidence found" in shown and b"The CSTO refused to help Armenia" in shown and b"Sources:" in shown
        os.write(controller, b"/quit\n")
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        os.close(controller)
    assert (tmp_path / "chat_history").is_file()  # readline kept the question
