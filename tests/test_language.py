"""The language room: spaCy reads who did what (subject, passive agent, "according to"), with negation and
pronouns told apart, and loads without importing torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rag.language.parse import doers, parse

from .conftest import REPO

pytest.importorskip("spacy")


def read(sentence: str, *lemmas: str) -> list[tuple[str, tuple[str, ...], tuple[str, ...], bool]]:
    [doc] = parse([sentence])
    return [(m.shown, tuple(sorted(m.names)), m.role, m.pronoun) for m in doers(doc, set(lemmas))]


def test_the_doer_of_an_active_or_a_passive_verb_with_its_names_and_role():
    assert read("Anna Petrova, the governor, ordered the evacuation of Orsk.", "order") == [
        ("Anna Petrova", ("anna", "petrova"), ("governor",), False)]
    assert read("The closure was ordered by the Interior Ministry on Monday.", "order") == [
        ("Interior Ministry", ("interior", "ministry"), (), False)]
    assert read("The army ordered the evacuation.", "order") == [("the army", (), ("army",), False)]


def test_sayings_negation_pronouns_and_two_doers():
    assert read("The dam will hold, said Pavel Grin, the chief engineer.", "say")[0][:3] == (
        "Pavel Grin", ("grin", "pavel"), ("engineer",))
    assert [m[0] for m in read("According to the finance committee, the budget was leaked.", "say")] == [
        "the finance committee"]
    assert read("The army did not order the evacuation of Orsk.", "order") == []
    assert read("It paid the ransom for the journalists.", "pay")[0][3] is True
    assert [m[0] for m in read("Air defence units and a Wagner unit shot down the drone.", "shoot")] == [
        "Air defence units", "a Wagner unit"]


def test_the_pipeline_loads_without_importing_torch():
    code = ("import sys\nfrom rag.language.parse import nlp\nnlp()\nprint('TORCH', 'torch' in sys.modules)\n"
            "import torch\nprint('LATER', torch.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert "TORCH False" in out.stdout and "LATER torch" in out.stdout, out.stdout + out.stderr
