"""Claim checking: is each answer sentence supported by the quote attached to it? A judge role behind a protocol.

A verbatim quote proves the source says something, not that it says what the sentence claims. So every
claim is put to a judge with its quotes: by default the cross-encoder this project trains (rag/judge), in
milliseconds; or the answering model itself, asked a yes/no question whose answer is read as P(yes) from the
token probabilities; any other chat model reads its reply as text; an NLI cross-encoder can be plugged in by path. Claims below the
threshold are removed from the answer, and so are claims naming a number or a name their quotes lack.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..language.numbers import figure_words, spelled
from ..language.parse import names_in
from ..llm.templates import neutralise, render_template
from ..news.timewords import time_phrases
from ..text import MARKER, WORD, content_words, with_markers
from ..types import Citation, ClaimCheck, Passage
from .evidence import MIN_COVERAGE, coverage

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

    from ..config import LLMSettings, Settings


class SupportJudge(Protocol):
    """Decides how likely `evidence` supports `claim` as an answer to `question` (0..1)."""

    name: str

    def support(self, question: str, claim: str, evidence: str) -> float: ...


# ---------------------------------------------------------------- judges


class ModelJudge:
    """A chat model asked 'does the text support the answer?': P(yes) from token probabilities, else its words."""

    def __init__(self, llm: BaseChatModel, settings: LLMSettings | None = None, prompts_dir: Path | None = None,
                 name: str = "model"):
        self.llm = llm
        self.settings = settings
        self.prompts_dir = prompts_dir
        self.name = name

    def support(self, question: str, claim: str, evidence: str) -> float:
        """Probability that `evidence` supports `claim` (1.0/0.0 for models without token probabilities)."""
        from ..llm.calls import call_errors_as_llm_error
        from ..llm.protocols import TokenProbabilities

        messages = render_template("verify", self.prompts_dir, question=neutralise(question), claim=neutralise(claim),
                                   evidence=neutralise(evidence))
        with call_errors_as_llm_error(self.settings):
            if isinstance(self.llm, TokenProbabilities):
                return yes_share(self.llm.token_probabilities(messages, ["yes", "no"])) or 0.0
            reply = self.llm.invoke(messages).text
        return 1.0 if re.match(r"\W*yes\b", reply, re.IGNORECASE) else 0.0


def yes_share(probabilities: dict[str, float]) -> float | None:
    """P(yes) / (P(yes) + P(no)) of a one-word reply's first token; None when neither word was among the likely."""
    total = probabilities.get("yes", 0.0) + probabilities.get("no", 0.0)
    return probabilities.get("yes", 0.0) / total if total > 0 else None


class NliJudge:
    """A sentence-transformers NLI cross-encoder (local path or name): P(entailment) of evidence -> claim."""

    def __init__(self, model: str):
        self.name = f"nli:{model}"
        self._model_name = model
        self._model: Any = None

    def support(self, question: str, claim: str, evidence: str) -> float:
        """Entailment probability from the model's softmax (label order read from its config)."""
        import numpy as np

        from ..search.rerank import load_cross_encoder

        if self._model is None:
            self._model = load_cross_encoder(self._model_name)
        logits = np.asarray(self._model.predict([(evidence, f"{question} {claim}")]))[0]
        probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        labels = {v.lower(): int(k) for k, v in getattr(self._model.model.config, "id2label", {}).items()}
        return float(probs[labels.get("entailment", len(probs) - 1)])


# ---------------------------------------------------------------- checks that need no model

# The letters-only words of a text (spaCy's alphabetic tokens): the ones capitalised may be names.
_LETTERS = re.compile(r"[^\W\d_]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def unsupported_numbers(answer: str, passages: Sequence[Passage], question: str = "") -> list[str]:
    """Numbers in the answer (markers aside), as figures or as words from "two" and "third" up, that no passage nor
    the question contains in either form: a sign of invention."""
    haystack = " ".join([question, *(p.text for p in passages)])
    lowered = haystack.lower()
    missing = []
    for number in _NUMBER.findall(MARKER.sub(" ", answer)):
        if re.search(rf"(?<!\d){re.escape(number)}(?!\d)", haystack):
            continue
        if any(re.search(rf"\b{word}\b", lowered) for word in spelled(number)):  # "7" and "seven"
            continue
        missing.append(number)
    for word, figures in figure_words(MARKER.sub(" ", answer)):  # "two studies" on "one study", "fourth" on "first"
        if not re.search(rf"\b{word}\b", lowered) and not any(
                re.search(rf"(?<!\d){re.escape(f)}(?![\d.,]\d)", haystack) for f in figures):
            missing.append(word)
    return missing


def missing_specifics(claim: str, evidence: str, question: str = "") -> list[str]:
    """Numbers, relative time words and names in the claim that neither its evidence nor the question contains."""
    known = f"{evidence} {question}"
    missing = unsupported_numbers(claim, [], known)
    lowered = known.lower()
    # "since last week" on "since 1999": a relative time its evidence does not give is the claim's own
    missing += [phrase for phrase in time_phrases(claim) if phrase.lower() not in lowered]
    return list(dict.fromkeys(missing + _missing_names(claim, known)))


def _missing_names(claim: str, known: str) -> list[str]:
    """The claim's names that `known` lacks. When `known` holds every capitalised word of the claim there is
    nothing to ask; only otherwise does the language room (spaCy, a second or two to load) tell a name ("joined
    NATO") from a word capitalised because it opens the sentence ("However"), so most answers never load it."""
    known_words = content_words(known)

    def lacks(word: str) -> bool:
        return word.lower()[:5] not in known_words and word not in known and not _spelled_out(word, known)

    if not any(w[0].isupper() and lacks(w) for w in _LETTERS.findall(claim)):
        return []
    return [name for name in names_in(claim) if lacks(name)]


def _spelled_out(acronym: str, text: str) -> bool:
    """Whether `text` spells out an acronym: "EU" in "the European Union", "UN" in "United Nations"."""
    if not (acronym.isupper() and 2 <= len(acronym) <= 6):
        return False
    joint = r"[\w'-]*\s+(?:(?:of|and|the|for|on)\s+)*"
    return re.search(r"\b" + joint.join(acronym) + r"\w*", text) is not None


# Where a sentence joins clauses that may rest on different facts: ", and", ", but", ", while", "; ".
_CLAUSE_BREAK = re.compile(r"(?:,\s+(?:and|but|while|whereas|although)\s+|;\s+)")


def clauses(text: str) -> list[str]:
    """A sentence's clauses, split where a comma or semicolon joins two of at least four words each."""
    parts = _CLAUSE_BREAK.split(text)
    if len(parts) < 2 or any(len(WORD.findall(p)) < 4 for p in parts):
        return [text]
    return parts


@dataclass(frozen=True)
class ClaimToJudge:
    """What the claim check reads for one answer sentence."""

    sentence: str  # as displayed, with its [n] markers
    text: str  # the sentence without markers
    citations: list[int]  # the passage numbers it cites
    quotes: str  # its quotes as the judge reads them (quotes_text)
    cited: str  # the text of the passages it cites, where its names and numbers must appear

    @classmethod
    def of(cls, sentence: str, text: str, numbers: list[int], citations: Sequence[Citation],
           passages: Sequence[Passage]) -> ClaimToJudge:
        """The claim with its quotes and the text of the passages `numbers` name (1-based, out of range skipped)."""
        cited = " ".join(passages[n - 1].text for n in numbers if 1 <= n <= len(passages))
        return cls(sentence, text, numbers, quotes_text(citations), cited)


def judge_claims(claims: Sequence[ClaimToJudge], question: str, judge: SupportJudge | None,
                 threshold: float) -> list[ClaimCheck]:
    """A verdict per claim, in answer order."""
    return [_verdict(claim, question, judge, threshold) for claim in claims]


def _verdict(claim: ClaimToJudge, question: str, judge: SupportJudge | None, threshold: float) -> ClaimCheck:
    """One claim: quotes present, each clause's names and numbers in its passages and its words in its quotes
    (clauses failing that are cut), then the judge on what is left."""
    sentence, text, numbers, quotes, cited = claim.sentence, claim.text, claim.citations, claim.quotes, claim.cited
    check = ClaimCheck(sentence=sentence, citations=numbers)
    if not quotes:
        check.reason = "no quote backs it"
        return check
    parts = clauses(text)
    problems = [_clause_problem(p, quotes, cited, question) for p in parts]
    kept = [p for p, problem in zip(parts, problems) if not problem]
    if not kept:
        check.reason = next(problem for problem in problems if problem)
        return check
    check.trimmed = [p for p, problem in zip(parts, problems) if problem]
    judged = _rejoin(kept) if check.trimmed else text
    if judge is not None:
        check.support = round(judge.support(question, judged, quotes), 3)
        if check.support < threshold:
            check.reason = "its quote does not support it"
            return check
    check.supported = True
    check.shown = with_markers(_rejoin(kept) + _final_stop(text), numbers) if check.trimmed else sentence
    return check


MISSING_REASON = "its passage does not contain"  # a claim cut for a name or number: citation repair may save it


def quotes_text(citations: Sequence[Citation]) -> str:
    """A claim's quotes as the judge reads them: each in quotation marks, whitespace folded."""
    return " ".join(f'"{" ".join(c.quote.split())}"' for c in citations)


def _clause_problem(clause: str, quotes: str, cited: str, question: str) -> str:
    """Why a clause is not backed ('' when it is): a name or number its passages lack, or words its quotes lack."""
    if missing := missing_specifics(clause, f"{quotes} {cited}", question):
        return f"{MISSING_REASON} {', '.join(missing[:3])}"
    if coverage(clause, quotes, question) < MIN_COVERAGE:
        return "its quote does not mention what it says"
    return ""


def _rejoin(parts: list[str]) -> str:
    """Kept clauses joined back into one sentence, without the final full stop."""
    return ", and ".join(p.strip().rstrip(".!?") for p in parts)


def _final_stop(text: str) -> str:
    """The sentence's closing punctuation ('.' when it has none)."""
    match = re.search(r"[.!?]$", text.strip())
    return match.group(0) if match else "."


def make_judge(settings: Settings, llm: BaseChatModel) -> SupportJudge:
    """The judge settings.answer.judge names: the trained judge when unset, the answering model ('model'), an NLI
    model, or another chat model."""
    spec = settings.answer.judge
    folder = settings.answer.prompts_dir
    if not spec:
        from ..judge import shared_judge

        return shared_judge()
    if spec == "model":
        return ModelJudge(llm, settings.llm, folder)
    if spec.startswith("nli:"):
        return NliJudge(spec[4:])
    from ..llm.specs import get_chat_model, model_label

    judge_settings = settings.llm.model_copy(update={"spec": spec, "max_tokens": 16})
    return ModelJudge(get_chat_model(judge_settings), judge_settings, folder, name=model_label(judge_settings))
