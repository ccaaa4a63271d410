"""Gold JSONL loading: the seed set loads; malformed files give one-line errors naming file and line."""

import json

import pytest

from rag.errors import RagError
from rag.eval.gold import GoldFormatError, GoldItem, load_gold, save_gold

from .conftest import SEED_DEV


def test_seed_dev_loads_with_every_field():
    items = load_gold(SEED_DEV)
    assert len(items) == 12 and len({i.id for i in items}) == 12
    multi = next(i for i in items if i.kind == "multi")
    assert len(multi.evidence) == 2 and multi.evidence[0].source.endswith(".txt")
    declined = [i for i in items if not i.answerable]
    assert declined and all(not i.evidence and not i.answers for i in declined)
    assert all(isinstance(g, list) and g for i in items if i.must for g in i.must)


def test_save_and_load_round_trip(tmp_path):
    items = [GoldItem(id="s-1", question="Does X cause Y?", relevant_sources=["123", "456"], kind="multi"),
             GoldItem(id="q-2", question="Who?", answers=["Ann"], evidence=[{"source": "a.txt", "quote": "Ann did"}])]
    save_gold(items, tmp_path / "gold.jsonl")
    assert load_gold(tmp_path / "gold.jsonl") == items


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"id": "a", "question": "  "}', "empty 'question'"),
        ('{"question": "q?"}', "missing 'id'"),
        ('{"id": "a", "question": "q?", "answers": "Ann"}', "'answers' must be a list"),
        ('{"id": "a", "question": "q?", "evidence": [{"source": "a.txt"}]}', "'evidence' must be a list"),
        ('{"id": "a", "question": "q?", "answerable": "yes"}', "'answerable' must be true or false"),
        ('{"id": "a", "question": "q?", "must": ["Ann"]}', "'must' must be a list of non-empty lists"),
    ],
)
def test_malformed_line_is_a_one_line_error_with_its_line_number(tmp_path, line, message):
    path = tmp_path / "gold.jsonl"
    good = json.dumps({"id": "ok", "question": "Fine?", "answers": ["yes"], "evidence": [], "answerable": True})
    path.write_text(good + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(GoldFormatError) as err:
        load_gold(path)
    text = str(err.value)
    assert f"{path}:3:" in text and message in text and "\n" not in text
    assert isinstance(err.value, RagError)


def test_duplicate_ids_empty_missing_and_binary_files(tmp_path):
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"id": "a", "question": "q?"}\n{"id": "a", "question": "r?"}\n', encoding="utf-8")
    with pytest.raises(GoldFormatError, match="duplicate id 'a'"):
        load_gold(dup)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(GoldFormatError, match="holds no questions"):
        load_gold(empty)
    with pytest.raises(GoldFormatError, match="not found"):
        load_gold(tmp_path / "missing.jsonl")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(GoldFormatError, match="not UTF-8"):
        load_gold(binary)
