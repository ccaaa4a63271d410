"""Saved prompt-prefix states: keys, restore on first sight, atomic saves, failures that only cost speed.

A loopback stand-in for llama.cpp's /slots endpoint stores and reads files the way the server does (the real
server is exercised in tests/test_xllama_integration.py).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from rag.llm.kvstate import MAX_FILES, PrefixStates

SYSTEM = {"role": "system", "content": "Answer from the passages."}


class SlotServer(ThreadingHTTPServer):
    """/slots/0?action=save|restore like llama.cpp: files named by the client, inside one folder, key required."""

    def __init__(self, folder: Path, key: str):
        super().__init__(("127.0.0.1", 0), SlotHandler)
        self.folder, self.key, self.actions = folder, key, []


class SlotHandler(BaseHTTPRequestHandler):
    server: SlotServer

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        action = parse_qs(urlparse(self.path).query)["action"][0]
        if self.headers.get("Authorization") != f"Bearer {self.server.key}":
            return self._reply(401, {"error": "invalid api key"})
        self.server.actions.append((action, body["filename"]))
        target = self.server.folder / body["filename"]
        if action == "save":
            target.write_text("kv state")
        elif not target.is_file():
            return self._reply(400, {"error": "file not found"})
        self._reply(200, {"id_slot": 0, "filename": body["filename"]})

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slots(tmp_path: Path):
    server = SlotServer(tmp_path, "secret")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def _states(server: SlotServer, key: str = "secret", model: str = "model-a") -> PrefixStates:
    host, port = server.server_address
    return PrefixStates(f"http://{host}:{port}", key, server.folder, model)


def test_key_is_the_fixed_messages_of_one_model() -> None:
    states = PrefixStates("http://127.0.0.1:1", "k", Path("."), "model-a")
    first = states.key([SYSTEM, {"role": "user", "content": "Why?"}])
    assert first == states.key([SYSTEM, {"role": "user", "content": "Who?"}])  # the last message is not fixed
    assert first != states.key([{"role": "system", "content": "Other."}, {"role": "user", "content": "Why?"}])
    assert first != PrefixStates("http://127.0.0.1:1", "k", Path("."), "model-b").key([SYSTEM, {"role": "user"}])
    assert states.key([{"role": "user", "content": "Why?"}]) is None  # nothing fixed to save


def test_first_process_saves_the_next_restores_and_a_warm_one_does_nothing(slots: SlotServer) -> None:
    question = [SYSTEM, {"role": "user", "content": "Why did Armenia cancel the exercises?"}]
    first = _states(slots)
    unsaved = first.prepare(question)
    assert unsaved is not None and slots.actions == []  # nothing saved yet: nothing restored
    first.save(unsaved)
    assert [p.name for p in slots.folder.iterdir()] == [f"{unsaved}.bin"]  # the temp name was renamed
    assert first.prepare([SYSTEM, {"role": "user", "content": "Another question?"}]) is None  # seen here already

    second = _states(slots)  # a new process
    assert second.prepare([SYSTEM, {"role": "user", "content": "And Kazakhstan?"}]) is None
    assert slots.actions[-1] == ("restore", f"{unsaved}.bin")
    assert second.prepare([SYSTEM, {"role": "user", "content": "And Kyrgyzstan?"}]) is None
    assert len(slots.actions) == 2  # a warm process relies on llama.cpp's own cache


def test_a_refused_or_unreachable_server_costs_speed_not_the_answer(slots: SlotServer, tmp_path: Path) -> None:
    wrong_key = _states(slots, key="guess")
    unsaved = wrong_key.prepare([SYSTEM, {"role": "user", "content": "Q?"}])
    wrong_key.save(unsaved)
    assert list(slots.folder.iterdir()) == []
    gone = PrefixStates("http://127.0.0.1:9", "secret", tmp_path / "states", "model-a")
    gone.save(gone.prepare([SYSTEM, {"role": "user", "content": "Q?"}]))
    assert not any((tmp_path / "states").glob("*.bin"))


def test_old_states_are_pruned(slots: SlotServer) -> None:
    states = _states(slots)
    for n in range(MAX_FILES + 3):
        states.save(states.prepare([{"role": "system", "content": f"prompt {n}"}, {"role": "user", "content": "Q"}]))
    assert len(list(slots.folder.glob("*.bin"))) == MAX_FILES
