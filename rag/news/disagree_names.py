"""Disagreement on names: documents naming different people or bodies for what a "who" question asks.

Deterministic and conservative, because a false "sources disagree" box hurts trust more than a missed one. A
sentence counts only when it holds the question's verb (any verb of saying for "who said" or "according to
whom") and most of its other key terms. Its candidates are the mentions linked to that verb as its doer:
"X ordered", "ordered by X", and for sayings also "said X", "according to X". A mention is a capitalised name
("Governor Anna Petrova", "Interior Ministry") or a role phrase from a small lexicon ("the regional governor",
"the army"); names in the question are never answers. Each document gives its best candidate; candidates are
grouped when they may be one entity (a name within the other, case and accents aside, or a shared kind of role;
a bare surname is never told apart from a role), and two groups are a Disagreement unless a sentence of the
documents names both. The word lists are in name_words.py.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

from ..text import STOPWORDS, content_words
from ..types import DisagreeingValue, Disagreement, Passage
from ..checks.evidence import Evidence, Sentence, value_citations
from .name_words import (ARTICLES, AUX, BREAKS, CALENDAR, CAPITAL_ARTICLES, CONNECTORS, DETERMINERS, DOER_AFTER,
                         KINDS, NEGATION, NOT_TERMS, OPENERS, PERSONAL, PLACE_WORDS, ROLE, SAYING, TITLES)

_WHO = re.compile(r"^\W*(?:(?:and|but|so|then|tell me|do you know|do (?:the )?(?:sources|reports|documents) say)"
                  rf",?\s+)?(?P<wh>whom|whose|who|(?:which|what)\s+(?P<kind>(?:[a-z]+\s+)?(?:{KINDS})))\b"
                  r"(?P<rest>.*)", re.I | re.S)
_BY_WHOM = re.compile(r"\baccording to whom\b", re.I)
_ASIDE = re.compile(r",\s*according to [^,?]+,?", re.I)  # "Which country, according to Bloomberg, benefited ..."
_SEVERAL = re.compile(r"\b(?:also|too|both|likewise|echo(?:ed|ing)|agreed|as well|joined|together with)\b", re.I)
LINK_GAP = 4  # words allowed between a doer and its verb ("Anna Petrova, 54, on Sunday ordered")


class _Token(NamedTuple):
    word: str
    start: int
    end: int


@dataclass
class _Mention:
    """A name or role phrase in a sentence: token range, text as written, folded name words, kinds of role."""

    first: int
    last: int  # exclusive
    shown: str
    names: frozenset[str]
    roles: frozenset[str]
    place: bool = False  # after "in", "of", "near"...: a place or an object, passed over when looking for a doer
    asked: bool = False  # named in the question: never an answer
    full: str = ""  # for a bare surname, the fuller name its document gives ("Governor Anna Petrova")

    @property
    def free(self) -> bool:
        """Whether the mention may answer: named, not a place, not in the question, not unspecific ("officials")."""
        return not (self.place or self.asked) and "vague" not in self.roles


@dataclass
class _Candidate:
    """A document's answer: the mention linked to the question's verb, its sentence and how well it fits."""

    mention: _Mention
    sentence: Sentence
    fit: tuple[int, int]  # (key terms shared, -words between the doer and the verb)


@dataclass
class _Question:
    """What a "who" question asks: its verb (stem, or any saying), other key terms, and the names it holds."""

    head: str  # 5-letter stem of the verb, "" for any verb of saying
    terms: set[str]
    numbers: set[str]  # figures in the question ("12,000"): a sentence about it states each of them
    names: set[str]  # folded words of the question: mentions made of them are not answers
    roles: set[str]  # kinds of role the question names outside its "which <kind>"
    what: str

    def linked(self, word: str) -> bool:
        """Whether a sentence word is the question's verb (any verb of saying for "who said")."""
        low = word.lower()
        return low in SAYING | {"according"} if not self.head else word.islower() and low[:5] == self.head

    def holds(self, names: set[str], roles: set[str]) -> bool:
        """Whether the question names a mention: one of its name words, or (for a bare role) all its kinds."""
        return bool(names & self.names) or (not names and bool(roles) and roles <= self.roles)


def find_name_disagreements(question: str, passages: list[Passage]) -> list[Disagreement]:
    """Different people or bodies the documents name for what a "who" question asks, each with its quote."""
    asked = _read_question(question)
    if asked is None or len(asked.terms) < 2 or len({p.source for p in passages}) < 2:
        return []  # "who visited Kazakhstan?" is too loose: many did, naming two is no disagreement
    evidence = Evidence(passages)
    mentions = _document_mentions(evidence, asked)
    relevant = [s for s in evidence.sentences if _relevant(s, asked)]
    best = _best_candidates(relevant, mentions, asked)
    groups = _groups(list(best.values()))
    if len(groups) < 2 or not _alternatives(groups, relevant, mentions):
        return []
    values = [_value(group, evidence, question) for group in groups]
    values.sort(key=lambda v: v.citation.date or "9999")  # side by side in the order they were published
    return [Disagreement(asked.what, values)]


def _best_candidates(relevant: list[Sentence], mentions: dict[int, list[_Mention]],
                     asked: _Question) -> dict[str, _Candidate]:
    """Each document's best-fitting candidate, by source."""
    best: dict[str, _Candidate] = {}
    for sentence in relevant:  # sentences come in passage order: on equal fit, the earlier one stays
        for candidate in _candidates(sentence, mentions[id(sentence)], asked):
            if sentence.source not in best or candidate.fit > best[sentence.source].fit:
                best[sentence.source] = candidate
    return best


def _alternatives(groups: list[list[_Candidate]], relevant: list[Sentence],
                  mentions: dict[int, list[_Mention]]) -> bool:
    """Whether the groups are alternatives: no sentence names two, none says that several did it ("also", "both")."""
    if any(_names_two(mentions[id(s)], groups) for s in relevant):
        return False
    return not any(_SEVERAL.search(c.sentence.text) for group in groups for c in group)


def _read_question(question: str) -> _Question | None:
    """The question's verb, key terms and names, or None when it does not ask who did something."""
    by_whom = _BY_WHOM.search(question)
    parts = (question[by_whom.end() :], "", "person or body quoted", set()) if by_whom else _who_did(question)
    if parts is None:
        return None
    rest, head, what, kind = parts
    terms = {t for t in content_words(rest) if len(t) > 1} - NOT_TERMS - {head} - {k[:5] for k in kind}
    names = {_fold(w) for w in re.findall(r"[^\W_][\w'’-]*", question)}
    roles = {ROLE[w] for w in names if w in ROLE and w not in kind}
    return _Question(head, terms, _number_words(rest), names, roles, what)


def _who_did(question: str) -> tuple[str, str, str, set[str]] | None:
    """(rest after "who", verb stem, what is asked, words of "which <kind>") of a "who <verb>" question, or None."""
    m = _WHO.match(question)
    if m is None:
        return None
    rest = _ASIDE.sub(" ", m["rest"])
    head = _verb_stem(rest, whose=m["wh"].lower() == "whose")
    if head is None:
        return None
    kind = set(re.findall(r"\w+", (m["kind"] or "").lower()))
    return rest, head, _what(m, rest), kind


def _verb_stem(rest: str, whose: bool) -> str | None:
    """5-letter stem of the verb after "who" ("" for a verb of saying), None when there is no such verb."""
    words = re.findall(r"[^\W\d_][\w'’-]*", rest)
    if whose:
        words = words[1:]  # "whose troops shelled": the verb comes after the possessed noun
    if not words or words[0].lower() in AUX and len(words) > 1 \
            and (words[1][:1].isupper() or words[1].lower() in DETERMINERS):
        return None  # a subject after "did"/"is": "who did Petrova blame", "who is the governor" ask no doer
    verb = next((w for w in words if w.lower() not in STOPWORDS and w.lower() not in AUX), "")
    if not verb.islower():
        return None  # no verb, or a name where it should be
    return "" if verb.lower() in SAYING else verb.lower()[:5]


def _what(m: re.Match[str], rest: str) -> str:
    """What the values are, in words: "person or body who ordered the evacuation", "official who said ..."."""
    rest = " ".join(rest.strip().rstrip("?.! ").split())
    if m["kind"]:
        kind = " ".join(m["kind"].split())
        last = kind.split()[-1].lower()
        return f"{kind} {'who' if last in ROLE or last in PERSONAL else 'that'} {rest}"
    return f"person or body {m['wh'].lower()} {rest}"


def _fold(word: str) -> str:
    """A word for comparison: accents and case dropped, a possessive "'s" cut."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c)).lower()
    return re.sub(r"['’]s?$", "", plain)


def _tokens(text: str) -> list[_Token]:
    """The words of a sentence with their offsets in it."""
    return [_Token(m.group(), m.start(), m.end()) for m in re.finditer(r"[^\W_][\w'’-]*", text)]


def _number_words(text: str) -> set[str]:
    """The figures of a text without thousands separators: "12,000 people" -> {"12000"}."""
    return {n.replace(",", "") for n in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", text)}


def _relevant(sentence: Sentence, asked: _Question) -> bool:
    """A sentence about what is asked: it has the verb, the question's figures and the other key terms (one in four
    may lack; "12,000" and "9,000" are different facts, so figures are never among them)."""
    shared = len(asked.terms & content_words(sentence.text))
    need = len(asked.terms) - (len(asked.terms) // 4 if asked.head else 0)  # "who said": the statement, all of it
    return shared >= need and asked.numbers <= _number_words(sentence.text) \
        and any(asked.linked(t.word) for t in _tokens(sentence.text))


def _document_mentions(evidence: Evidence, asked: _Question) -> dict[int, list[_Mention]]:
    """Mentions per sentence (by id); a bare surname takes the roles of the fuller name in its document."""
    known: dict[str, set[str]] = {}  # per document, capitalised words seen inside sentences: names, not openers
    for s in evidence.sentences:
        known.setdefault(s.source, set()).update(t.word for t in _tokens(s.text)[1:] if _upper(t.word))
    found = {id(s): _mentions(s.text, known[s.source], asked) for s in evidence.sentences}
    for source in known:
        mine = [m for s in evidence.sentences if s.source == source for m in found[id(s)]]
        for m in mine:
            fuller = [o for o in mine if o.names > m.names]
            if fuller and not m.roles:  # "Petrova" after "Governor Anna Petrova": the governor
                m.roles = frozenset().union(*(o.roles for o in fuller))
                m.full = max(fuller, key=lambda o: (len(o.names), len(o.roles))).shown
    return found


def _mentions(text: str, known: set[str], asked: _Question) -> list[_Mention]:
    """Names and role phrases of a sentence, in order; an apposition ("Anna Petrova, the governor,") is one."""
    tokens = _tokens(text)
    spans = _capitalised(tokens, text, known)
    covered = {i for a, b in spans for i in range(a, b)}
    found: list[_Mention] = []
    for a, b in sorted(spans + _role_phrases(tokens, text, covered)):
        m = _mention(tokens, text, a, b, asked)
        if not (m.names or m.roles):
            continue  # "U.S.": letters, no name
        prev = found[-1] if found else None
        if prev and prev.names and not prev.roles and m.roles and not m.names \
                and text[tokens[prev.last - 1].end : tokens[a].start].strip() == ",":
            prev.last, prev.roles = b, m.roles  # "Anna Petrova, the regional governor": one person
            continue
        found.append(m)
    return found


def _capitalised(tokens: list[_Token], text: str, known: set[str]) -> list[tuple[int, int]]:
    """Token ranges of capitalised names ("Governor Anna Petrova", "Ministry of Defence")."""
    spans, i = [], 0
    while i < len(tokens):
        if not _upper(tokens[i].word):
            i += 1
            continue
        j = _name_end(tokens, text, i)
        a, b = i, j
        while a < b and (tokens[a].word.lower() in OPENERS or _fold(tokens[a].word) in CALENDAR):
            a += 1  # "The", "On" opening a sentence; "Sunday"
        while b > a and _fold(tokens[b - 1].word) in CALENDAR:
            b -= 1
        # A lone capitalised first word is a name only if the document writes it so inside sentences too.
        opener = a == 0 and b == 1 and tokens[0].word not in known and _fold(tokens[0].word) not in ROLE
        if b > a and not opener:
            spans.append((a, b))
        i = j
    return spans


def _name_end(tokens: list[_Token], text: str, i: int) -> int:
    """End of the capitalised name starting at token i; up to two connectors ("of the") may join its words."""
    j = i + 1
    while j < len(tokens) and _joined(text, tokens[j - 1], tokens[j]):
        k = j
        while k < min(j + 2, len(tokens) - 1) and tokens[k].word in CONNECTORS \
                and _joined(text, tokens[k], tokens[k + 1]):
            k += 1
        if not _upper(tokens[k].word):
            break
        j = k + 1
    return j


def _upper(word: str) -> bool:
    """A capitalised word (numbers are not)."""
    return word[:1].isupper()


def _joined(text: str, a: _Token, b: _Token) -> bool:
    """Whether two tokens are parts of one name: a single space between, or the dot of an initial ("J. Smith")."""
    gap = text[a.end : b.start]
    return gap == " " or (gap == ". " and len(a.word) == 1)


def _role_phrases(tokens: list[_Token], text: str, covered: set[int]) -> list[tuple[int, int]]:
    """Token ranges of lowercase role phrases: "the regional governor", "the army's regional commander", "police"."""
    spans: list[tuple[int, int]] = []
    k = len(tokens) - 1
    while k >= 0:  # right to left, so "the army commander" is one phrase
        if k in covered or not tokens[k].word.islower() or _fold(tokens[k].word) not in ROLE:
            k -= 1
            continue
        a = k
        for i in range(k - 1, max(k - 4, -1), -1):  # back to an article over up to two lowercase words
            word = tokens[i].word
            if i in covered or not _joined(text, tokens[i], tokens[i + 1]) or not word.islower() \
                    and word not in CAPITAL_ARTICLES:
                break
            if word.lower() in ARTICLES:
                a = i
                break
            if word in STOPWORDS:
                break
        spans.append((a, k + 1))
        k = a - 1
    return spans


def _mention(tokens: list[_Token], text: str, a: int, b: int, asked: _Question) -> _Mention:
    """One mention: its words as folded names and kinds of role; whether it is a place or named in the question."""
    words = [_fold(t.word) for t in tokens[a:b]]
    ranks = [i for i, w in enumerate(words) if w in ROLE]
    roles = _role_kinds(words)
    # Words before a role describe it ("Interior Ministry", "Russian Foreign Minister"): the name comes after it.
    names = _name_words(tokens[a + ranks[-1] + 1 : b] if ranks else tokens[a:b])
    shown = text[tokens[a].start : tokens[b - 1].end]
    if tokens[a].word in CAPITAL_ARTICLES:
        shown = shown[0].lower() + shown[1:]  # "The army ordered": shown as "the army"
    place = a > 0 and tokens[a - 1].word.lower() in PLACE_WORDS and not (a > 1 and tokens[a - 2].word == "according")
    return _Mention(a, b, shown, frozenset(names), frozenset(roles), place, asked.holds(names, roles))


def _role_kinds(words: list[str]) -> set[str]:
    """Kinds of role among a mention's folded words; "vague" only when there is no other."""
    roles = {"premier" if w.startswith("minister") and i and words[i - 1] == "prime" else ROLE[w]
             for i, w in enumerate(words) if w in ROLE}
    return roles - {"vague"} or roles  # "a ministry spokesperson" speaks for the ministry


def _name_words(tokens: list[_Token]) -> set[str]:
    """Folded name words: capitalised, longer than an initial, not a title ("Dr"), opener or connector."""
    return {_fold(t.word) for t in tokens
            if _upper(t.word) and len(t.word) > 1 and _fold(t.word) not in TITLES | OPENERS | CONNECTORS}


def _candidates(sentence: Sentence, mentions: list[_Mention], asked: _Question) -> list[_Candidate]:
    """Mentions linked to the question's verb as its doer, as candidates of the sentence."""
    tokens = _tokens(sentence.text)
    shared = len(asked.terms & content_words(sentence.text))
    found = []
    for h, token in enumerate(tokens):
        if not asked.linked(token.word) or any(m.first <= h < m.last for m in mentions) \
                or h and tokens[h - 1].word.lower() in DETERMINERS:
            continue  # not the verb: part of a name, or a noun ("the order")
        if any(re.split(r"['’]", t.word.lower())[0] in NEGATION for t in tokens[max(0, h - 3) : h]):
            continue  # "the army did not order": no doer here
        doers = _doers(sentence.text, tokens, mentions, h, asked)
        found += [_Candidate(m, sentence, (shared, -gap)) for m, gap in doers if m.free]
    return found


def _doers(text: str, tokens: list[_Token], mentions: list[_Mention], h: int,
           asked: _Question) -> list[tuple[_Mention, int]]:
    """(mention, words between) doing the verb at token h: "X ordered", "ordered by X", "said X", "according to
    X". Only the nearest mention before the verb can be its doer; places ("of Orsk") are passed over."""
    after = [(m, gap) for m in mentions if (gap := _doer_after(text, tokens, m, h, asked)) is not None]
    return _subject(text, tokens, mentions, h) + after


def _subject(text: str, tokens: list[_Token], mentions: list[_Mention], h: int) -> list[tuple[_Mention, int]]:
    """The doer before the verb at token h, if any: the nearest mention not a place, near enough, in one clause."""
    before = [m for m in mentions if m.last <= h and not m.place]
    if not before or h - before[-1].last > LINK_GAP or tokens[h].word.lower() == "according":
        return []
    doer = before[-1]
    between = {t.word.lower() for t in tokens[doer.last : h]}
    if between & BREAKS or not _one_clause(text, tokens[doer.last - 1], tokens[h]):
        return []  # "and", "when", "not", a dash or a bracket between: not the doer of this verb
    return [(doer, h - doer.last)]


def _doer_after(text: str, tokens: list[_Token], m: _Mention, h: int, asked: _Question) -> int | None:
    """Words between the verb at token h and mention m doing it from behind ("ordered by X", "said X"), else None."""
    start = m.first - 1 if m.first > 0 and tokens[m.first - 1].word.lower() in ARTICLES else m.first
    if start > h + 1 and tokens[start - 1].word.lower() == "by" and start - 2 - h <= LINK_GAP \
            and _one_clause(text, tokens[h], tokens[start - 1]):
        return start - 2 - h
    if not asked.head and DOER_AFTER.get(tokens[h].word.lower()) == start - h:
        return 0
    return None


def _one_clause(text: str, a: _Token, b: _Token) -> bool:
    """Whether nothing between two tokens opens another clause: no dash, semicolon, colon or bracket."""
    return not re.search(r"[;:()\[\]—–]|\s-\s", text[a.end : b.start])


def _same(a: _Mention, b: _Mention) -> bool:
    """Whether two mentions may be one entity: when in doubt (a bare surname against a role), they may."""
    return _refers(a, b) or not (a.names and b.names) and not (a.roles and b.roles)


def _refers(a: _Mention, b: _Mention) -> bool:
    """Whether two mentions clearly name one entity: one's name words within the other's, or one kind of role."""
    if a.names and b.names:
        return a.names <= b.names or b.names <= a.names
    return bool(a.roles & b.roles)


def _groups(candidates: list[_Candidate]) -> list[list[_Candidate]]:
    """Documents' candidates grouped by entity; a candidate that may be the entity of two groups joins them."""
    groups: list[list[_Candidate]] = []
    for c in candidates:
        touching = [i for i, g in enumerate(groups) if any(_same(c.mention, o.mention) for o in g)]
        joined = [o for i in touching for o in groups[i]] + [c]
        groups = [g for i, g in enumerate(groups) if i not in touching] + [joined]
    return groups


def _names_two(mentions: list[_Mention], groups: list[list[_Candidate]]) -> bool:
    """Whether one sentence names the entities of two groups (then they are not alternatives)."""
    touched = {i for i, g in enumerate(groups) for m in mentions
               if not m.asked and any(_refers(m, c.mention) for c in g)}
    return len(touched) > 1


def _value(group: list[_Candidate], evidence: Evidence, question: str) -> DisagreeingValue:
    """A group as one value: its fullest name, and the quotes of the documents giving it."""
    fullest = max((c.mention.full or c.mention.shown for c in group), key=lambda name: (len(name.split()), name))
    quote, also = value_citations([(c.sentence, f"{c.mention.shown} {question}") for c in group], evidence)
    return DisagreeingValue(fullest, quote, also)
