"""End to end: the web UI in a real browser (Debian chromium via Playwright) against an index of the sample corpus.

The app runs in a subprocess with the real embedder and a scripted fake chat model (tests/ui_fake_server.py)
that quotes passage [1] of its prompt, so retrieval, citation verification, highlighting, follow-up
condensing and uploads are all the real code. Screenshots go to test-output/.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from .conftest import CORPUS, REPO

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
OUTPUT = REPO / "test-output"


def _requirements() -> str | None:
    """Why the browser test cannot run here, if it cannot."""
    for module in ("playwright", "gradio"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install 'rag[ui,test]')"
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium, or `make browser`)"
    return None


if _requirements():
    pytest.skip(_requirements(), allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}: {proc.stdout.read()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the app did not answer at {url} within {seconds} s")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The app serving an index of examples/corpus built with the real embedder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "GRADIO_"))}
    env.update(GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    index = tmp_path_factory.mktemp("ui") / "index"
    subprocess.run([sys.executable, "-m", "rag", "index", str(CORPUS), "--index", str(index)], check=True,
                   cwd=REPO, env=env, capture_output=True, timeout=600)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.ui_fake_server", "--port", str(port), "--index", str(index)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(app_url)
        page.wait_for_selector("#question textarea")
        yield page
        browser.close()


def _ask(page, question: str, turn: int) -> str:
    """Type a question, wait for the finished answer of that turn, return its text."""
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_function(
        "turn => document.querySelector(`#chat a.rag-cite[href='#src-${turn}-1']`) || "
        "[...document.querySelectorAll('#chat [data-testid=bot]')].some(m => m.innerText.includes('⚠️'))", arg=turn)
    text = page.locator("#chat [data-testid=bot]").last.inner_text()
    assert "⚠️" not in text, text
    return text


def test_answer_streams_in_with_a_highlighted_verified_quote(page):
    text = _ask(page, "Why did Armenia cancel CSTO exercises?", turn=1)
    assert "Azerbaijan" in text and "[1]" in text and "1 verified source(s)" in text
    mark = page.locator("#src-1-1 mark.quote-verified").first
    quote = mark.inner_text()
    assert len(quote.split()) >= 5 and " ".join(quote.split()) in " ".join(text.split())
    assert "002_838f15288c1da675.txt" in page.locator("#src-1-1 .rag-card-head").inner_text()
    assert page.locator("#sources details summary").first.inner_text().endswith("not cited")
    page.screenshot(path=str(OUTPUT / "ui-answer.png"), full_page=True)
    page.locator('#chat a.rag-cite[href="#src-1-1"]').last.click()
    page.wait_for_selector("#src-1-1.flash")  # the [1] link leads to its passage in the sources panel


def test_follow_up_is_answered_about_kyrgyzstan(page):
    text = _ask(page, "And what did Kyrgyzstan do?", turn=2)
    assert "Kyrgyzstan" in text and "postponed" in text
    assert "searched for:" in text
    assert "postponed" in page.locator("#src-2-1 mark.quote-verified").first.inner_text()
    assert page.locator("#sources summary", has_text="Earlier question 1").count() == 1
    page.screenshot(path=str(OUTPUT / "ui-follow-up.png"), full_page=True)


def test_a_bad_setting_shows_a_readable_error(page):
    page.get_by_role("tab", name="Settings").click()
    page.fill("#llm-spec textarea, #llm-spec input", "no such model")
    page.click("#apply")
    message = page.wait_for_selector("#settings-msg >> text=unknown llm.spec").inner_text()
    assert "⚠️" in message and "Traceback" not in page.content()
    assert "model fake" in page.locator("#status").inner_text()  # the working model stays in use


def test_upload_adds_a_document_to_the_list(page, tmp_path):
    note = tmp_path / "steppe zebras.md"
    note.write_text("# Steppe zebras\n\nA herd of forty steppe zebras was counted near Almaty in 2023.\n",
                    encoding="utf-8")
    page.get_by_role("tab", name="Documents").click()
    page.locator("#upload input[type=file]").set_input_files(str(note))
    page.wait_for_selector("#upload >> text=steppe zebras.md")
    page.click("#add")
    page.wait_for_selector("#upload-summary >> text=Added: steppe_zebras.md")
    assert "6 documents" in page.locator("#upload-summary").inner_text()
    assert "6 documents" in page.locator("#status").inner_text()
    page.wait_for_selector("#documents >> text=steppe_zebras.md")
    page.screenshot(path=str(OUTPUT / "ui-upload.png"), full_page=True)
    page.get_by_role("tab", name="Chat").click()
    text = _ask(page, "How many steppe zebras were counted near Almaty?", turn=3)
    assert "forty steppe zebras" in text
    assert "steppe_zebras.md" in page.locator("#src-3-1 .rag-card-head").inner_text()
