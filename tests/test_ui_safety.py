"""The UI service stays inside its data, survives outside re-indexing, and refuses to be exposed without a login."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.index.build import index_paths
from rag.index.embedded.store import IndexStore
from rag.service import UPLOADS, RagService, check_exposure, is_loopback

from .conftest import CORPUS, HashEmbedder
from .fakes import FakeChatModel
from .test_index_safety import ARMENIA, REINDEX_LOOP, spawn

QUOTE = "Armenia, after the CSTO refused to help in the armed conflict with Azerbaijan last year"
REPLY = f'Armenia cancelled them because the CSTO refused to help [1].\nQuotes:\n[1] "{QUOTE}"'



@pytest.fixture
def service(settings, corpus_copy):
    """A service over the indexed corpus copy."""
    index_paths([corpus_copy], settings, HashEmbedder())
    return RagService(settings, embedder=HashEmbedder(), llm=FakeChatModel(lambda messages: REPLY))


def _verified(answer) -> bool:
    return bool(answer.citations) and all(c.verified for c in answer.citations)


def test_the_service_reopens_after_an_outside_reindex(service, corpus_copy):
    first = service.ask("Armenia cancel CSTO exercises")
    old = service.retriever().store.folder
    (corpus_copy / "zebra.txt").write_text("The steppe zebra herd of Kazakhstan grew to forty animals.", encoding="utf-8")
    writer = spawn(REINDEX_LOOP, service.settings.index, corpus_copy, 1)
    assert writer.wait(60) == 0, writer.stderr.read()
    assert old.exists()  # the service still held it: not deleted under its feet
    answer = service.ask("steppe zebra herd Kazakhstan")
    assert any(p.source == "zebra.txt" for p in answer.passages)
    assert _verified(first) and service.retriever().store.folder != old
    writer = spawn(REINDEX_LOOP, service.settings.index, corpus_copy, 2)  # writes again: the released one goes
    assert writer.wait(60) == 0
    assert not old.exists()


def test_concurrent_questions_during_reindexing_all_succeed(service, corpus_copy):
    writer = spawn(REINDEX_LOOP, service.settings.index, corpus_copy, 4)
    answers, errors = [], []

    def ask() -> None:
        for _ in range(5):
            try:
                answers.append(service.ask("Armenia cancel CSTO exercises"))
            except Exception as error:  # noqa: BLE001 - collected and shown
                errors.append(repr(error))

    threads = [threading.Thread(target=ask) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert writer.wait(60) == 0
    assert errors == [] and len(answers) == 50 and all(_verified(a) for a in answers)


# ---------------------------------------------------------------- index root


def test_switching_index_is_limited_to_the_index_root(service, tmp_path):
    root = service.index_root
    assert root == Path(service.settings.index).resolve().parent
    for outside in ("/etc", tmp_path.parent, str(tmp_path / ".." / "elsewhere"), root):
        with pytest.raises(ConfigError, match="is outside the index root"):
            service.configure(index=outside)
    (tmp_path / "escape").symlink_to("/etc", target_is_directory=True)
    with pytest.raises(ConfigError, match="outside the index root"):
        service.configure(index=tmp_path / "escape")  # resolved before the check
    service.configure(index=tmp_path / "fresh")
    assert service.settings.index == (tmp_path / "fresh").resolve()


def test_the_index_root_is_a_setting(settings, tmp_path):
    settings.ui.index_root = tmp_path / "indexes"
    service = RagService(settings, embedder=HashEmbedder())
    with pytest.raises(ConfigError, match="outside the index root"):
        service.configure(index=tmp_path / "other")
    service.configure(index=tmp_path / "indexes" / "a")
    assert service.settings.index == (tmp_path / "indexes" / "a").resolve()


# ---------------------------------------------------------------- uploads


def test_uploads_stay_inside_and_refuse_what_they_must(service, tmp_path):
    service.settings.ui.max_upload_mb = 1
    incoming = tmp_path / "incoming"
    (incoming / "a" / "b").mkdir(parents=True)
    sneaky = incoming / "a" / "b" / "x.txt"  # names like ../../x.txt: tests/test_ui_service.py, safe_filename
    sneaky.write_text("An uploaded note about the Aral Sea.", encoding="utf-8")
    big = incoming / "big.txt"
    big.write_bytes(b"word " * 300_000)
    exe = incoming / "tool.exe"
    exe.write_bytes(b"MZ\x90\x00")
    result = service.upload([sneaky, big, exe])
    rejected = dict(result.rejected)
    assert "larger than 1 MB (1.4 MB) (setting ui.max_upload_mb)" == rejected["big.txt"]
    assert rejected["tool.exe"].startswith("unsupported type .exe")
    uploads = Path(service.settings.index) / UPLOADS
    assert sorted(p.name for p in uploads.iterdir()) == ["x.txt"] and result.report.added == ["x.txt"]
    assert not (tmp_path / "x.txt").exists()


def test_an_upload_never_writes_through_a_planted_symlink(service, tmp_path):
    uploads = Path(service.settings.index) / UPLOADS
    uploads.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("original", encoding="utf-8")
    (uploads / "note.txt").symlink_to(victim)
    note = tmp_path / "note.txt"
    note.write_text("An uploaded note about the Aral Sea.", encoding="utf-8")
    service.upload([note])
    assert victim.read_text() == "original" and not (uploads / "note.txt").is_symlink()


def test_uploads_go_only_into_an_index_folder(settings, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    settings.index = foreign
    service = RagService(settings, embedder=HashEmbedder())
    note = tmp_path / "n.txt"
    note.write_text("A note.", encoding="utf-8")
    with pytest.raises(ConfigError, match="holds no index"):
        service.upload([note])
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


def test_an_upload_named_like_an_indexed_file_does_not_shadow_it(service, tmp_path):
    fake = tmp_path / ARMENIA
    fake.write_text("Armenia cancel CSTO exercises: a forged story that says they joined NATO.", encoding="utf-8")
    result = service.upload([fake])
    assert result.report.added == [f"{UPLOADS}/{ARMENIA}"]
    with IndexStore(service.settings.index) as store:
        assert store.document_original(ARMENIA) == (CORPUS / ARMENIA).read_text(encoding="utf-8")
        assert "forged" in store.document_original(f"{UPLOADS}/{ARMENIA}")
        assert len({d.source for d in store.documents()}) == 6
    answer = service.ask("Armenia cancel CSTO exercises")
    cited = answer.passages[answer.citations[0].n - 1]
    assert _verified(answer) and cited.source == ARMENIA and QUOTE in cited.original


# ---------------------------------------------------------------- exposure


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_needs_no_login(host):
    assert is_loopback(host)
    check_exposure(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.168.1.5", "example.com"])
def test_listening_beyond_loopback_needs_a_login(host):
    with pytest.raises(ConfigError, match="without a login: set RAG_UI__AUTH"):
        check_exposure(host, None)
    check_exposure(host, "ana:secret")


def test_a_share_link_needs_a_login_and_a_bad_auth_is_refused():
    with pytest.raises(ConfigError, match="share link"):
        check_exposure("127.0.0.1", None, share=True)
    with pytest.raises(ConfigError, match="user:password"):
        check_exposure("0.0.0.0", "nocolon")
