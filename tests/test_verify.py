"""Claim checking: every displayed sentence is supported by its quote, or removed (with the reason shown)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from langchain_core.messages import BaseMessage

from rag.answer.assistant import answer
from rag.checks.claims import ClaimToJudge, ModelJudge, judge_claims, missing_specifics
from rag.types import REFUSAL, RefusalReason
from tests.fakes import FakeChatModel

from .conftest import FakeJudge, HashEmbedder
from .test_answer import ARMENIA, _passage_numbers

KYRGYZ = "Kyrgyzstan postponed the CSTO exercises on its territory"


@pytest.fixture
def checked(seed_index):
    """Seed-index settings with the claim check on."""
    seed_index.answer.check_claims = True
    return seed_index


@pytest.fixture
def retriever(checked):
    from rag.search.retriever import Retriever

    return Retriever(checked, embedder=HashEmbedder())


def two_claims(messages: list[BaseMessage]) -> str:
    """A reply with one supported claim and one whose cited passage says something else."""
    numbered = _passage_numbers(messages)
    right = next(k for k, text in numbered.items() if "CSTO refused to help" in text)
    return (f"Armenia cancelled the exercises because the CSTO refused to help it against Azerbaijan [{right}]. "
            f"Armenia also left the Eurasian Union in protest [{right}].")


def test_an_unsupported_sentence_is_removed_and_reported(checked, retriever) -> None:
    judge = FakeJudge()
    result = answer(ARMENIA, checked, retriever=retriever, llm=FakeChatModel(two_claims), judge=judge)
    assert not result.refused
    assert "CSTO refused to help" in result.answer and "Eurasian" not in result.answer
    kept, removed = result.claims
    assert kept.supported and kept.support == 0.9 and not removed.supported
    assert "Eurasian" in removed.sentence and removed.reason
    assert len(judge.calls) >= 1 and all(evidence.startswith('"') for _, _, evidence in judge.calls)
    assert all(c.verified for c in result.citations)
    data = json.loads(json.dumps(result.to_dict()))
    assert [c["supported"] for c in data["claims"]] == [True, False]


def test_nothing_supported_means_the_refusal(checked, retriever) -> None:
    def wrong(messages: list[BaseMessage]) -> str:
        numbered = _passage_numbers(messages)
        n = next(k for k, text in numbered.items() if "CSTO refused to help" in text)
        return f"Armenia cancelled the exercises because Turkey bombed Yerevan [{n}]."

    result = answer(ARMENIA, checked, retriever=retriever, llm=FakeChatModel(wrong), judge=FakeJudge())
    assert result.refused and result.answer == REFUSAL
    assert result.refusal_reason in (RefusalReason.UNSUPPORTED, RefusalReason.NO_CITATION)
    assert result.citations == []


def test_the_judge_sees_the_quote_not_the_whole_passage(checked, retriever) -> None:
    judge = FakeJudge()
    answer(ARMENIA, checked, retriever=retriever, llm=FakeChatModel(two_claims), judge=judge)
    question, claim, evidence = judge.calls[0]
    assert "[" not in claim and claim.startswith("Armenia cancelled")
    assert "CSTO refused to help" in evidence and len(evidence) < 600


@pytest.mark.parametrize(
    ("claim", "evidence", "missing"),
    [
        ("Kyrgyzstan postponed the drills.", "Kazakhstan postponed the drills.", ["Kyrgyzstan"]),
        ("It took 7 minutes.", "He spoke for seven minutes.", []),
        ("It lasted 21 days.", "The strike lasted twenty-one days.", []),
        # figures written as words, ordinals and relative time words the evidence does not give
        ("So they ran two studies.", "So they ran one study with many people.", ["two"]),
        ("It was the fourth rewards program.", "It was its first rewards program.", ["fourth"]),
        ("It was the 4th program, with two seats.", "It was the fourth program, with 2 seats.", []),
        ("One of them won a second term.", "She won again.", []),
        ("They have not lost there since last week.", "They have not lost there since 1999.", ["last week"]),
        ("The vote was last week.", "The vote took place last week.", []),
        ("It exports 80 percent via Novorossiysk.", "About 80% goes through Novorossiysk.", []),
        ("It exports 90 percent.", "About 80% goes abroad.", ["90"]),
        ("Armenia cancelled the drills.", "Armenian officials cancelled the drills.", []),
        # names the language room finds that a capitalised-word pattern did not: an acronym, spelled out or not;
        # a word capitalised only because it opens the sentence is no name
        ("Armenia cancelled the drills because it joined NATO.", "Armenia cancelled the drills after the CSTO "
         "refused to help.", ["NATO"]),
        ("The EU imposed sanctions on Iran.", "The European Union imposed sanctions on Iran.", []),
        ("However, Moscow stayed silent.", "Moscow stayed silent, officials said.", []),
        ("Officials say Moscow stayed silent.", "Moscow stayed silent.", []),
    ],
)
def test_missing_specifics(claim: str, evidence: str, missing: list[str]) -> None:
    pytest.importorskip("spacy")
    assert missing_specifics(claim, evidence) == missing


def test_a_claim_whose_capitalised_words_its_evidence_holds_never_loads_spacy() -> None:
    code = ("import sys\nfrom rag.checks.claims import missing_specifics\n"
            "print(missing_specifics('Armenia cancelled the CSTO drills in 2023.', "
            "'In 2023 Armenia cancelled the drills the CSTO had planned.'), 'spacy' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "False"]


def test_judge_claims_verdicts_and_reasons() -> None:
    items = [
        ("A [1].", "Kyrgyzstan postponed the drills", [1], '"Kazakhstan postponed the drills."', "Kazakhstan ..."),
        ("B.", "Nothing backs this", [], "", ""),
        ("C [2].", "The drills were postponed", [2], '"The drills were postponed in May."', "The drills ..."),
    ]
    first, second, third = judge_claims([ClaimToJudge(*i) for i in items], "What happened?", FakeJudge(), threshold=0.5)
    assert not first.supported and "Kyrgyzstan" in first.reason
    assert not second.supported and second.reason == "no quote backs it"
    assert third.supported and third.support == 0.9


class ProbabilityModel(FakeChatModel):
    """A fake chat model that also answers token_probabilities, like the local engine."""

    def token_probabilities(self, messages, choices):
        self.calls.append(list(messages))
        text = messages[-1].text
        return {"yes": 0.6, "no": 0.2} if "1932" in text else {"yes": 0.05, "no": 0.9}


def test_model_judge_reads_token_probabilities() -> None:
    judge = ModelJudge(ProbabilityModel([]))
    assert judge.support("When?", "It opened in 1932.", '"The bridge opened in 1932."') == pytest.approx(0.75)
    assert judge.support("When?", "It opened in 1950.", '"The bridge opened in 1932 or so."'.replace("1932", "19")) < 0.1


def test_model_judge_reads_a_text_reply_from_other_models() -> None:
    assert ModelJudge(FakeChatModel(["Yes."])).support("q", "c", '"e"') == 1.0
    assert ModelJudge(FakeChatModel(["No, it does not."])).support("q", "c", '"e"') == 0.0


def test_a_clause_its_quote_does_not_mention_is_cut_from_the_sentence() -> None:
    quote = ('"Armenia, after the CSTO refused to help in the armed conflict with Azerbaijan last year, '
             'canceled the organization’s exercises in the country."')
    sentence = ("Armenia canceled CSTO exercises because it was refused help in the armed conflict with Azerbaijan "
                "last year, and Moscow's hesitation benefited the most from this [1].")
    text = sentence.replace(" [1]", "")
    [check] = judge_claims([ClaimToJudge(sentence, text, [1], quote, quote)], "Why did Armenia cancel CSTO exercises?",
                           FakeJudge(), threshold=0.5)
    assert check.supported and check.trimmed == ["Moscow's hesitation benefited the most from this."]
    assert check.shown == ("Armenia canceled CSTO exercises because it was refused help in the armed conflict "
                           "with Azerbaijan last year [1].")


def test_lists_are_not_split_into_clauses() -> None:
    from rag.checks.claims import clauses

    listed = "Central Asia is made up of Kazakhstan, Kyrgyzstan, Tajikistan, Turkmenistan, and Uzbekistan"
    assert clauses(listed) == [listed]
    assert len(clauses("Kyrgyzstan postponed the drills on its soil; Tajikistan hosted the summit in May")) == 2


def test_token_probabilities_is_a_declared_protocol() -> None:
    from rag.llm.protocols import TokenProbabilities
    from rag.llm.xllama import XLlamaChatModel

    local = XLlamaChatModel(model_path="unused.gguf", model_name="unused")  # nothing loads until it is asked
    assert isinstance(local, TokenProbabilities) and isinstance(ProbabilityModel([]), TokenProbabilities)
    assert not isinstance(FakeChatModel([]), TokenProbabilities)
