"""Web UI back end (no gradio): safe upload names, uploads into the index, shared models, settings, follow-ups."""

import threading

import pytest

from rag.errors import ConfigError, IndexNotFoundError, RagError
from tests.fakes import FakeChatModel
from rag.answer.followup import history_pairs, looks_like_follow_up
from rag.service import UPLOADS, RagService, safe_filename

from .conftest import CORPUS

ARMENIA = "002_838f15288c1da675.txt"
QUOTE = "Armenia, after the CSTO refused to help in the armed conflict with Azerbaijan last year"


@pytest.mark.parametrize("name, expected", [
    ("report.pdf", "report.pdf"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\windows\\evil.md", "evil.md"),
    (".hidden.txt", "hidden.txt"),
    ("my notes (v2).txt", "my_notes_v2_.txt"),
    ("..", "upload"),
    ("", "upload"),
])
def test_safe_filename_never_leaves_the_folder(name, expected):
    assert safe_filename(name) == expected


def test_safe_filename_limits_length_and_keeps_the_suffix():
    name = safe_filename("x" * 500 + ".docx")
    assert name.endswith(".docx") and len(name) <= 111


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_upload_adds_a_file_that_questions_then_find(seed_index, hash_embedder, tmp_path):
    service = RagService(seed_index, embedder=hash_embedder, llm=FakeChatModel([]))
    before = service.retriever()
    note = _write(tmp_path / "zebra notes.txt",
                  "Zebras in Kazakhstan\n\nThe steppe zebra herd grew to forty animals in 2023.")
    result = service.upload([note])
    assert result.report.added == ["zebra_notes.txt"]
    assert (seed_index.index / UPLOADS / "zebra_notes.txt").read_text(encoding="utf-8").startswith("Zebras")
    assert "zebra_notes.txt" in [d.source for d in service.documents()]
    assert "Added: zebra_notes.txt" in result.summary()
    after = service.retriever()
    assert after is not before  # the index was reopened for later questions
    assert after.search("steppe zebra herd", k=1)[0].source == "zebra_notes.txt"


def test_upload_refuses_unsupported_oversized_and_unreadable_files(seed_index, hash_embedder, tmp_path):
    seed_index.ui.max_upload_mb = 1
    service = RagService(seed_index, embedder=hash_embedder)
    exe = _write(tmp_path / "tool.exe", "MZ")
    big = _write(tmp_path / "big.txt", "word " * 300_000)
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    result = service.upload([exe, big, binary])
    reasons = dict(result.rejected)
    assert "unsupported type" in reasons["tool.exe"] and "larger than 1 MB" in reasons["big.txt"]
    assert [s.reason for s in result.report.skipped] == ["binary file"]
    assert not result.report.changed
    summary = result.summary()
    assert "Skipped tool.exe" in summary and "Skipped big.txt" in summary and "Skipped blob.txt: binary file" in summary
    assert len(service.documents()) == 5


def test_upload_into_a_missing_index_creates_it(settings, hash_embedder, tmp_path):
    service = RagService(settings, embedder=hash_embedder)
    assert service.documents() == []
    with pytest.raises(IndexNotFoundError):
        service.retriever()
    service.upload([CORPUS / ARMENIA])
    assert [d.source for d in service.documents()] == [ARMENIA]


def test_ask_uses_the_shared_models_and_verifies_the_quote(seed_index, hash_embedder):
    llm = FakeChatModel(f'Armenia cancelled them because the CSTO refused to help [1].\nQuotes:\n[1] "{QUOTE}"')
    service = RagService(seed_index, embedder=hash_embedder, llm=llm)
    streamed = []
    answer = service.ask("Armenia cancel CSTO exercises", on_token=streamed.append)
    assert "".join(streamed).strip() == answer.answer
    [citation] = answer.citations
    assert citation.verified and citation.source == ARMENIA and citation.method == "model"
    assert answer.passages[citation.n - 1].original_slice(citation.start, citation.end) == QUOTE
    assert (CORPUS / ARMENIA).read_text(encoding="utf-8")[citation.start:citation.end] == QUOTE
    assert len(llm.calls) == 1


def test_errors_are_one_line_rag_errors(settings, hash_embedder):
    service = RagService(settings, embedder=hash_embedder, llm=FakeChatModel([]))
    with pytest.raises(RagError, match="empty"):
        service.ask("   ")
    with pytest.raises(IndexNotFoundError, match="rag index"):
        service.ask("Why?")
    assert "no index" in service.warm_up()


def test_a_bad_llm_setting_keeps_the_working_model(seed_index, hash_embedder, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    llm = FakeChatModel([])
    service = RagService(seed_index, embedder=hash_embedder, llm=llm)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        service.configure(llm_spec="openai:gpt-4o-mini")
    with pytest.raises(ConfigError, match="unknown llm.spec"):
        service.configure(llm_spec="no such model")
    assert service.llm() is llm and service.settings.llm.spec == "local"
    service.configure(llm_spec="ollama:llama3.1", top_k=2)  # built without contacting a server
    assert service.settings.llm.spec == "ollama:llama3.1" and service.settings.answer.passages == 2
    assert service.model_label() == "ollama:llama3.1"


def test_configure_swaps_in_new_settings_and_leaves_the_old_ones_alone(seed_index, hash_embedder):
    """A question being answered holds the old Settings: reconfiguring never changes them under it."""
    service = RagService(seed_index, embedder=hash_embedder, llm=FakeChatModel([]))
    before, live = service.settings, service.retriever()
    passages, k = before.answer.passages, before.retrieve.k
    service.configure(top_k=k + 5)
    assert (before.answer.passages, before.retrieve.k) == (passages, k)
    assert live.settings is before and live.settings.retrieve.k == k
    assert service.settings.answer.passages == k + 5 and service.settings.retrieve.k == k + 5
    assert service.retriever() is not live and service.retriever().settings.retrieve.k == k + 5


def test_switching_index_reopens_the_retriever(seed_index, hash_embedder, tmp_path):
    service = RagService(seed_index, embedder=hash_embedder)
    first, seed = service.retriever(), seed_index.index
    service.configure(index=tmp_path / "other")
    assert service.documents() == []
    assert "no index" in service.warm_up()
    service.configure(index=seed)
    assert service.retriever() is not first and len(service.documents()) == 5
    assert service.index_choices()[0] == str(seed)


def test_upload_waits_for_a_question_in_progress(seed_index, hash_embedder, tmp_path):
    """An upload never swaps the index under a question being answered: both finish, in order."""
    started, release, order = threading.Event(), threading.Event(), []

    def slow_reply(messages):
        started.set()
        release.wait(10)
        order.append("answered")
        return f'Because [1].\nQuotes:\n[1] "{QUOTE}"'

    service = RagService(seed_index, embedder=hash_embedder, llm=FakeChatModel(slow_reply))
    def ask():
        order.append(service.ask("Armenia cancel CSTO exercises").citations[0].verified)

    def upload():
        order.append(service.upload([_write(tmp_path / "n.txt", "A new note.")]))

    asking = threading.Thread(target=ask)
    asking.start()
    assert started.wait(10)
    uploading = threading.Thread(target=upload)
    uploading.start()
    uploading.join(0.3)
    assert uploading.is_alive()  # blocked behind the question
    release.set()
    asking.join(10)
    uploading.join(30)
    assert order[:2] == ["answered", True] and order[2].report.added == ["n.txt"]


# ---------------------------------------------------------------- follow-ups


def test_only_follow_ups_are_condensed():
    assert looks_like_follow_up("And what did Kyrgyzstan do?")
    assert looks_like_follow_up("Why did they do that?")
    assert looks_like_follow_up("What about Kazakhstan?")
    assert not looks_like_follow_up("Why did Armenia cancel CSTO exercises?")
    assert not looks_like_follow_up("Which countries make up Central Asia?")


def test_follow_up_retrieves_for_the_condensed_question(seed_index, hash_embedder):
    """A follow-up costs one condense call and retrieves for the rewritten question; a new question costs none."""
    first = FakeChatModel([f'Because the CSTO refused to help [1].\nQuotes:\n[1] "{QUOTE}"'])
    service = RagService(seed_index, embedder=hash_embedder, llm=first)
    earlier = [service.ask("Armenia cancel CSTO exercises")]

    llm = FakeChatModel(["What did Kyrgyzstan do about CSTO military exercises?",
                         "Kyrgyzstan postponed CSTO exercises [1]."])
    service = RagService(seed_index, embedder=hash_embedder, llm=llm)
    follow_up = "And what did Kyrgyzstan do?"
    answer = service.ask(follow_up, history_pairs(earlier))
    assert answer.standalone_question == "What did Kyrgyzstan do about CSTO military exercises?"
    assert "Armenia cancel CSTO exercises" in llm.calls[0][-1].text  # the condense prompt saw the history
    assert any("postponed planned military exercises" in p.text for p in answer.passages)
    llm.calls.clear()
    llm.replies.append("Central Asia is made up of five countries [1].")
    fresh = service.ask("Which countries make up Central Asia?", history_pairs([*earlier, answer]))
    assert fresh.standalone_question is None and "condense" not in fresh.timings and len(llm.calls) == 1


# ---------------------------------------------------------------- launching


def test_auth_setting_parses_user_and_password():
    from rag.service import parse_auth

    assert parse_auth(None) is None
    assert parse_auth("ana:s3cr:et") == ("ana", "s3cr:et")
    for bad in ("nopassword", ":x", "user:"):
        with pytest.raises(ConfigError, match="user:password"):
            parse_auth(bad)


def test_host_and_port_come_from_options_then_gradio_env_then_settings(settings, monkeypatch):
    from rag.service import launch_options

    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert launch_options(settings) == ("127.0.0.1", 7860)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8000")
    assert launch_options(settings) == ("0.0.0.0", 8000)
    assert launch_options(settings, "localhost", 9000) == ("localhost", 9000)
    monkeypatch.setenv("GRADIO_SERVER_PORT", "eighty")
    with pytest.raises(ConfigError, match="GRADIO_SERVER_PORT"):
        launch_options(settings)


def test_rag_ui_reports_a_bad_auth_setting_in_one_line(tmp_path):
    import importlib.util
    import os
    import subprocess
    import sys

    from .conftest import REPO

    if importlib.util.find_spec("gradio") is None:
        pytest.skip("gradio is not installed (pip install 'rag[ui]')")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_UI__AUTH="no-colon", GRADIO_ANALYTICS_ENABLED="False")
    out = subprocess.run([sys.executable, "-m", "rag", "ui", "--index", str(tmp_path / "none")], capture_output=True,
                         text=True, env=env, cwd=REPO, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip() == "error: ui.auth must look like 'user:password' (RAG_UI__AUTH)"
