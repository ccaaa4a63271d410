"""Disagreement on names: documents naming different people or bodies for what a "who" question asks.

Conservative, because a false "sources disagree" box hurts trust more than a missed one. The question is read
by spaCy (rag/language/): its verb (any verb of saying for "who said" or "according to whom"), its other key
words and the names it holds. A sentence of a document counts when it holds that verb and most of those words;
its candidates are the verb's doers from the dependency parse: the subject ("X ordered"), the agent of a
passive ("was ordered by X"), for sayings "according to X". A negated verb has no doer, a pronoun is passed
over, and names the question holds are never answers. Each document gives its best candidate; candidates are
one entity when one's names lie within the other's ("Petrova", "Governor Anna Petrova") or, without two sets of
names, their roles agree ("the president", "President Maria Lopez"); a bare name against a bare role may be one
person, so it never counts as a difference. Two entities are a Disagreement unless a sentence names both or says
that several did it ("also", "both").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..checks.evidence import Evidence, Sentence, value_citations
from ..language.parse import Mention, doers, fold, mention, parse
from ..language.places import capital_for_country
from ..text import content_words
from ..types import DisagreeingValue, Disagreement, Passage

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

# What a library cannot know: verbs of saying, doers that name nobody, and words that say several did it.
SAYING = {"say", "tell", "state", "claim", "announce", "add", "note", "warn", "insist", "write", "report", "confirm"}
VAGUE = {"official", "authority", "source", "people", "spokesperson", "spokesman", "spokeswoman", "observer",
         "expert", "analyst", "report", "media", "someone", "witness", "resident"}
_SEVERAL = re.compile(r"\b(?:also|too|both|likewise|echo(?:ed|ing)|agreed|as well|joined|together)\b", re.I)
# "who", "whom", "whose", "which X" ("according to whom" holds "whom"). Not "what X": "what" opens too many
# questions to load spaCy for, and "which country" is how news questions ask it.
_WHO = re.compile(r"\b(?:who|whom|whose|which)\b", re.I)
_BY_WHOM = re.compile(r"\baccording to whom\b", re.I)


@dataclass(frozen=True)
class _Question:
    """What a "who" question asks: the verb lemmas that name the act, key words, figures and the names it holds."""

    lemmas: frozenset[str]
    terms: frozenset[str]
    numbers: frozenset[str]
    names: frozenset[str]
    what: str


@dataclass(frozen=True)
class _Candidate:
    """A document's answer: a doer of the question's verb, the sentence saying so, and how well it fits."""

    mention: Mention
    sentence: Sentence
    fit: int  # key words of the question the sentence shares


def may_ask_who(question: str) -> bool:
    """Whether a question likely asks who did something (its answer will then need the language pipeline)."""
    return bool(_WHO.search(question))


def find_name_disagreements(question: str, passages: list[Passage]) -> list[Disagreement]:
    """Different people or bodies the documents name for what a "who" question asks, each with its quote."""
    if len({p.source for p in passages}) < 2 or not may_ask_who(question):
        return []  # checked before spaCy loads: most questions never need it
    asked = _read_question(question)
    if asked is None or len(asked.terms) < 2:
        return []  # "who visited Kazakhstan?" is too loose: many did, naming two is no disagreement
    evidence = Evidence(passages)
    parsed = dict(zip(map(id, evidence.sentences), parse(s.text for s in evidence.sentences)))
    relevant = [s for s in evidence.sentences if _relevant(s, asked)]
    docs = [parsed[id(s)] for s in relevant]
    best = _best_candidates(relevant, docs, asked)
    groups = _groups([_fuller(c, evidence.sentences, parsed) for c in best.values()])
    if len(groups) < 2 or not _alternatives(groups, docs):
        return []
    values = [_value(group, evidence, question) for group in groups]
    values.sort(key=lambda v: v.citation.date or "9999")  # side by side in the order they were published
    return [Disagreement(asked.what, values)]


def _read_question(question: str) -> _Question | None:
    """The question's verb, key words and names, or None when it does not ask who did something."""
    [doc] = parse([question])
    names = frozenset(fold(t.text) for t in doc if t.pos_ == "PROPN" or t.ent_type_)
    by_whom = _BY_WHOM.search(question)
    if by_whom:
        return _question(frozenset(SAYING), [t for t in doc if t.idx >= by_whom.end()], names, "person or body quoted")
    subject = _wh_subject(doc)
    if subject is None:
        return None
    verb = subject.head
    if verb.pos_ != "VERB" or verb.lemma_ == "be":
        return None  # "who is the governor" asks no doer
    lemma = verb.lemma_.lower()
    return _question(frozenset(SAYING) if lemma in SAYING else frozenset({lemma}), list(doc)[verb.i + 1:], names,
                     _what(question, subject, verb))


def _what(question: str, subject: Token, verb: Token) -> str:
    """What the values are, in words: "person or body who ordered the evacuation", "country that blocked ..."."""
    rest = question[verb.idx:].strip().rstrip("?.! ")
    if subject.lower_ in ("who", "whose"):
        return f"person or body who {rest}"
    kind = " ".join(t.text for t in subject.subtree if t.i < verb.i and t.lower_ != "which")
    return f"{kind} that {rest}"


def _wh_subject(doc: Doc) -> Token | None:
    """The subject a "who"/"which X"/"whose X" asks about, or None when the wh-word is no subject ("whom", "who
    did Petrova blame")."""
    for token in doc:
        low = token.lower_
        if low == "who" and token.dep_ in ("nsubj", "nsubjpass"):
            return token
        if low in ("which", "whose") and token.dep_ in ("det", "poss") and token.head.dep_ == "nsubj":
            return token.head
    return None


def _question(lemmas: frozenset[str], rest: list, names: frozenset[str], what: str) -> _Question:
    """A question read: the key words after its verb (nouns, verbs, adjectives, figures: not "would" or "the"), cut
    as rag.text.content_words cuts a sentence's, and its figures."""
    words = [t for t in rest if t.pos_ in ("NOUN", "PROPN", "VERB", "ADJ", "NUM") and not t.is_stop]
    terms = frozenset(w for w in content_words(" ".join(t.text for t in words)) if len(w) > 1)
    return _Question(lemmas, terms, frozenset(_number_words(" ".join(t.text for t in rest))), names,
                     " ".join(what.split()))


def _number_words(text: str) -> set[str]:
    """The figures of a text without thousands separators: "12,000 people" -> {"12000"}."""
    return {n.replace(",", "") for n in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", text)}


def _relevant(sentence: Sentence, asked: _Question) -> bool:
    """A sentence about what is asked: the question's figures and its key words (one in four may lack; for "who
    said", the statement, all of it)."""
    shared = len(asked.terms & content_words(sentence.text))
    saying = asked.lemmas == frozenset(SAYING)
    need = len(asked.terms) - (0 if saying else len(asked.terms) // 4)
    return shared >= need and asked.numbers <= _number_words(sentence.text)


def _best_candidates(relevant: list[Sentence], docs: list[Doc], asked: _Question) -> dict[str, _Candidate]:
    """Each document's best-fitting candidate, by source (on equal fit, the earlier sentence)."""
    best: dict[str, _Candidate] = {}
    for sentence, doc in zip(relevant, docs):
        fit = len(asked.terms & content_words(sentence.text))
        for doer in doers(doc, set(asked.lemmas)):
            if _free(doer, asked) and (sentence.source not in best or fit > best[sentence.source].fit):
                best[sentence.source] = _Candidate(doer, sentence, fit)
    return best


def _fuller(candidate: _Candidate, sentences: list[Sentence], parsed: dict[int, Doc]) -> _Candidate:
    """A bare name ("Petrova") with the role of the fuller name its document gives ("Governor Anna Petrova")."""
    if not candidate.mention.names or candidate.mention.role:
        return candidate
    own = [mention(t) for s in sentences if s.source == candidate.sentence.source for t in parsed[id(s)]
           if t.pos_ == "PROPN" and t.dep_ not in ("compound", "flat")]
    fuller = [m for m in own if m.names > candidate.mention.names and m.role]
    if not fuller:
        return candidate
    best = max(fuller, key=lambda m: (len(m.names), len(m.role)))
    return replace(candidate, mention=replace(candidate.mention, role=best.role, full=best.shown))


def _free(doer: Mention, asked: _Question) -> bool:
    """Whether a doer may answer: not a pronoun, not named in the question, not unspecific ("officials")."""
    if doer.pronoun or (doer.names & asked.names):
        return False
    return bool(doer.names) or not (set(doer.role) <= VAGUE)


def _same(a: Mention, b: Mention) -> bool:
    """Whether two mentions may be one entity: when in doubt (a bare name against a bare role), they may."""
    return _refers(a, b) or not (a.names and b.names) and not (a.role and b.role)


def _refers(a: Mention, b: Mention) -> bool:
    """Whether two mentions clearly name one entity: one's names within the other's, or (without two sets of
    names) one role within the other's ("council", "city council")."""
    if a.names and b.names:
        short, long = sorted((_stems(a.names), _stems(b.names)), key=len)
        return short <= long or capital_for_country(a.names, b.names)
    short, long = sorted((a.role, b.role), key=len)
    return bool(short) and long[len(long) - len(short):] == short


def _stems(names: frozenset[str]) -> frozenset[str]:
    """Name words cut to five letters: "Armenia" and "Armenian" (a country and its people) compare equal."""
    return frozenset(name[:5] for name in names)


def _groups(candidates: list[_Candidate]) -> list[list[_Candidate]]:
    """Documents' candidates grouped by entity; a candidate that may be the entity of two groups joins them."""
    groups: list[list[_Candidate]] = []
    for c in candidates:
        touching = [i for i, g in enumerate(groups) if any(_same(c.mention, o.mention) for o in g)]
        joined = [o for i in touching for o in groups[i]] + [c]
        groups = [g for i, g in enumerate(groups) if i not in touching] + [joined]
    return groups


def _alternatives(groups: list[list[_Candidate]], docs: list[Doc]) -> bool:
    """Whether the groups are alternatives: no relevant sentence names two, none says several did it."""
    for doc in docs:
        named = [mention(t) for t in doc if t.pos_ in ("PROPN", "NOUN") and t.dep_ not in ("compound", "amod")]
        touched = {i for i, g in enumerate(groups) for m in named if any(_refers(m, c.mention) for c in g)}
        if len(touched) > 1:
            return False
    return not any(_SEVERAL.search(c.sentence.text) for group in groups for c in group)


def _value(group: list[_Candidate], evidence: Evidence, question: str) -> DisagreeingValue:
    """A group as one value: its fullest name, and the quotes of the documents giving it."""
    fullest = max((c.mention.full or c.mention.shown for c in group), key=lambda name: (len(name.split()), name))
    quote, also = value_citations([(c.sentence, f"{c.mention.shown} {question}") for c in group], evidence)
    return DisagreeingValue(fullest, quote, also)
