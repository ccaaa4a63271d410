"""Claims made from sentences with spaCy, true and false, for the judge's support pairs and the swap test set.

A true claim restates its quote: the sentence itself, the sentence with a modifier dropped, or an answer an
annotator wrote from it. A false claim is a true one with one fact changed (FactCC / MiniCheck style): an
entity swapped for another of the same type from the same document, a number changed, the main verb negated.
The swapped-in text never occurs in the quote, so the label is right by construction.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence

from judge_data import SWAP_GROUPS

DROPPABLE = {"advcl", "prep", "appos", "acl", "relcl", "npadvmod", "parataxis", "advmod", "conj"}


def load_nlp():
    """spaCy's small English pipeline, as rag's language room loads it (rag/language/parse.py: once per process,
    without torch). Its lemmatizer does not change the entities and parses the swaps are made from."""
    from rag.language.parse import nlp

    return nlp()


def entity_pool(docs: Sequence) -> dict[str, list[str]]:
    """Every entity text of the documents by swap group, for when a document has no same-type partner."""
    pool: dict[str, set[str]] = defaultdict(set)
    for doc in docs:
        for ent in doc.ents:
            if ent.label_ in SWAP_GROUPS:
                pool[SWAP_GROUPS[ent.label_]].add(ent.text)
    return {group: sorted(texts) for group, texts in pool.items()}


def swap_entity(claim_doc, quote: str, neighbours: Sequence[str], pool: dict[str, list[str]],
                rng: random.Random) -> tuple[str, str] | None:
    """The claim with one of its entities replaced by another of the same group absent from the quote.

    Same-document partners (`neighbours`: entity texts of the claim's document with their labels) come first,
    since they are the plausible confusions (the other country, the other president); the global pool
    otherwise. Returns (new claim, group) or None when no entity can be swapped."""
    ents = [e for e in claim_doc.ents if e.label_ in SWAP_GROUPS]
    rng.shuffle(ents)
    quote_lower = quote.lower()
    for ent in ents:
        group = SWAP_GROUPS[ent.label_]
        local = [t for t, g in neighbours if g == group]
        candidates = [t for t in local if _usable(t, ent.text, quote_lower)]
        if not candidates:
            candidates = [t for t in rng.sample(pool.get(group, []), min(40, len(pool.get(group, []))))
                          if _usable(t, ent.text, quote_lower)]
        if not candidates:
            continue
        text = claim_doc.text
        return text[:ent.start_char] + rng.choice(candidates) + text[ent.end_char:], ent.label_
    return None


def _usable(candidate: str, original: str, quote_lower: str) -> bool:
    """A replacement must differ from the original and be absent from the quote (else the claim may be true)."""
    low = candidate.lower()
    return low != original.lower() and low not in quote_lower and original.lower() not in low and len(candidate) > 1


_DIGITS = re.compile(r"\d+(?:[.,]\d+)?")


def change_number(claim: str, quote: str, rng: random.Random) -> str | None:
    """The claim with one of its numbers changed to one the quote does not hold."""
    matches = list(_DIGITS.finditer(claim))
    rng.shuffle(matches)
    for match in matches:
        value = match.group(0).replace(",", "")
        try:
            number = float(value)
        except ValueError:
            continue
        for _ in range(5):
            if number >= 1000 and number == int(number) and 1000 <= number <= 2100:
                new = str(int(number) + rng.choice([-7, -3, -2, -1, 1, 2, 3, 5, 11]))  # a year: a near year
            elif number == int(number):
                new = str(max(0, int(number) + rng.choice([-1, 1]) * rng.randint(1, max(2, int(number) // 2 + 1))))
            else:
                new = f"{number * rng.choice([0.5, 0.8, 1.25, 2.0]):.1f}"
            if new != value and new not in quote:
                return claim[:match.start()] + new + claim[match.end():]
    return None


def negate(claim_doc) -> str | None:
    """The claim with its main verb negated ('was' -> 'was not', 'won' -> 'did not win'); None when unclear."""
    root = next((t for t in claim_doc if t.dep_ == "ROOT"), None)
    if root is None or any(t.dep_ == "neg" for t in root.children):
        return None
    text = claim_doc.text
    aux = [t for t in root.children if t.dep_ in ("aux", "auxpass") and t.i < root.i]
    if aux:
        return text[:aux[0].idx + len(aux[0].text)] + " not" + text[aux[0].idx + len(aux[0].text):]
    if root.lemma_ == "be" or root.tag_ == "MD":
        return text[:root.idx + len(root.text)] + " not" + text[root.idx + len(root.text):]
    helper = {"VBD": "did", "VBZ": "does", "VBP": "do"}.get(root.tag_)
    if helper is None or not root.lemma_:
        return None
    return text[:root.idx] + f"{helper} not {root.lemma_}" + text[root.idx + len(root.text):]


def compress(doc, rng: random.Random) -> str | None:
    """The sentence with one modifier subtree dropped (a shorter claim its sentence still supports)."""
    candidates = [t for t in doc if t.dep_ in DROPPABLE and t.head.dep_ == "ROOT" and 3 <= len(list(t.subtree)) <= 20]
    if not candidates:
        return None
    token = rng.choice(candidates)
    span = list(token.subtree)
    start, end = span[0].idx, span[-1].idx + len(span[-1].text)
    text = (doc.text[:start] + doc.text[end:]).strip()
    text = re.sub(r"\s+([,.;:])", r"\1", re.sub(r"\s{2,}", " ", text))
    text = re.sub(r"^[,;:\s]+|,\s*(?=[.;])", "", text).strip()
    if len(text.split()) < 6 or text == doc.text:
        return None
    return text[0].upper() + text[1:]



class ClaimMaker:
    """True and false claims against quotes for one corpus: its parsed sentences, entity pool and random state.

    `pair` builds a pair: pair(question, claim, quote, label, kind)."""

    def __init__(self, nlp, rng: random.Random, pair):
        self.nlp, self.rng, self.pair = nlp, rng, pair
        self.pool: dict[str, list[str]] = {}

    def support_pairs(self, records: Sequence, sentences_per_record: int = 3) -> list:
        """From each record's sentences and (when answerable) its annotator's answer."""
        sentence_docs = self.parse_all([s for r in records for s in r.sentences])
        answer_docs = self.parse_all([r.answer for r in records if r.answer])
        self.pool = entity_pool(sentence_docs.values())
        pairs: list = []
        for record in records:
            docs = [sentence_docs[s] for s in record.sentences]
            neighbours = document_entities(docs)
            selected = set(record.selected)
            chosen = [d for d in docs if d.text in selected] or self.rng.sample(docs, min(len(docs), sentences_per_record))
            for doc in chosen[:sentences_per_record]:
                pairs += self.sentence_claims(doc, docs, neighbours)
            if record.answer and record.selected:
                pairs += self.answer_claims(record, answer_docs[record.answer], docs, neighbours)
        return pairs

    def parse_all(self, texts: Sequence[str]) -> dict:
        """text -> spaCy Doc, parsed once in batches."""
        unique = list(dict.fromkeys(t for t in texts if t))
        return dict(zip(unique, self.nlp.pipe(unique, batch_size=64)))

    def quoted(self, quote: str) -> str:
        """The quote as the claim check passes it: in quotation marks half the time."""
        return f'"{quote}"' if self.rng.random() < 0.5 else quote

    def sentence_claims(self, doc, docs, neighbours) -> list:
        """From one sentence: itself or a shortened form (true), that claim with a fact changed, another sentence."""
        quote = doc.text
        short = compress(doc, self.rng)
        use_copy = short is None or self.rng.random() < 0.3
        claim = quote if use_copy else short
        out = [self.pair("", claim, self.quoted(quote), 1, "copy" if use_copy else "compressed")]
        out += self.falsified(doc if use_copy else self.nlp(claim), claim, quote, neighbours, "")
        others = [d for d in docs if d is not doc and len(d.text.split()) >= 6]
        if others and self.rng.random() < 0.6:
            out.append(self.pair("", self.rng.choice(others).text, self.quoted(quote), 0, "other-sentence"))
        return out

    def answer_claims(self, record, answer_doc, docs, neighbours) -> list:
        """The annotator's answer against the sentences it was written from (true), falsified, and against another."""
        quote = " ".join(record.selected[:2])
        question = record.question if self.rng.random() < 0.6 else ""
        out = [self.pair(question, record.answer, self.quoted(quote), 1, "annotator-answer")]
        out += self.falsified(answer_doc, record.answer, quote, neighbours, question)
        answer_words = set(record.answer.lower().split())
        unrelated = [d.text for d in docs if d.text not in record.selected
                     and len(answer_words & set(d.text.lower().split())) < 0.3 * len(answer_words)]
        if unrelated:
            out.append(self.pair(question, record.answer, self.quoted(self.rng.choice(unrelated)), 0,
                                 "answer-other-sentence"))
        return out

    def falsified(self, claim_doc, claim: str, quote: str, neighbours, question: str) -> list:
        """False versions of a true claim: an entity swapped, a number changed, the verb negated (when possible)."""
        out = []
        if swapped := swap_entity(claim_doc, quote, neighbours, self.pool, self.rng):
            out.append(self.pair(question, swapped[0], self.quoted(quote), 0, f"swap:{SWAP_GROUPS[swapped[1]]}"))
        if self.rng.random() < 0.4 and (negated := negate(claim_doc)):
            out.append(self.pair(question, negated, self.quoted(quote), 0, "negated"))
        if self.rng.random() < 0.6 and (changed := change_number(claim, quote, self.rng)):
            out.append(self.pair(question, changed, self.quoted(quote), 0, "number"))
        return out


def document_entities(docs: Sequence) -> list[tuple[str, str]]:
    """(text, swap group) of every swappable entity in a document's parsed sentences."""
    return [(e.text, SWAP_GROUPS[e.label_]) for d in docs for e in d.ents if e.label_ in SWAP_GROUPS]
