"""The shipped judge: its files match their hashes, it loads without torch, and it tells true from false pairs."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from rag.checks.claims import ClaimToJudge, judge_claims
from rag.errors import ModelLoadError
from rag.judge import PACKAGED, CrossEncoder, TrainedJudge, shared_judge
from rag.modelfiles import file_sha256, read_manifest

from .conftest import REPO

TURKMENISTAN = ("In some nations around the world, this Chinese economic dominance is far more pronounced, in "
                "Turkmenistan, for illustration, which now exports practically all of its fuel to China.")
GAS_QUESTION = "Which Central Asian country now exports almost all of its gas to China?"
ARMENIA = ("Armenia, after the CSTO refused to help in the armed conflict with Azerbaijan last year (positional "
           "battles on the border in September), canceled the organization's exercises in the country.")
RAHMON = ("Rahmon, who heads one of the smallest and poorest countries in the region, spent seven minutes reprimanding "
          "his Russian colleague that Moscow's attitude had not improved since the Soviet era.")


@pytest.fixture(scope="module")
def judge() -> TrainedJudge:
    return shared_judge()


def test_every_shipped_file_matches_its_manifest_hash() -> None:
    manifest = read_manifest(PACKAGED, "judge model", "scripts/train_judge.py")
    assert set(manifest["files"]) == {"judge.onnx", "tokenizer.json"}
    for name, digest in manifest["files"].items():
        assert file_sha256(PACKAGED / name) == digest
    assert (PACKAGED / "judge.onnx").stat().st_size < 30_000_000  # small enough to ship inside the package
    assert (PACKAGED / "MODEL_CARD.md").read_text(encoding="utf-8").count(manifest["files"]["judge.onnx"]) == 1


def test_a_damaged_model_file_is_refused_with_one_line(tmp_path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(PACKAGED, folder)
    data = bytearray((folder / "judge.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "judge.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="does not match its sha256") as caught:
        CrossEncoder(folder)
    assert "\n" not in str(caught.value)
    (folder / "manifest.json").unlink()
    with pytest.raises(ModelLoadError, match="no readable manifest.json"):
        CrossEncoder(folder)


@pytest.mark.parametrize(("claim", "quote", "true"), [
    ("Turkmenistan now exports practically all of its gas to China.", TURKMENISTAN, True),
    ("Kyrgyzstan now exports practically all of its gas to China.", TURKMENISTAN, False),
    ("Armenia canceled the CSTO exercises because the CSTO refused to help it in the conflict with Azerbaijan.",
     ARMENIA, True),
    ("Armenia canceled the CSTO exercises because the CSTO refused to help it in the conflict with Georgia.",
     ARMENIA, False),
    ("Rahmon spent seven minutes reprimanding his Russian colleague.", RAHMON, True),
    ("Rahmon spent two hours reprimanding his Russian colleague.", RAHMON, False),
    ("Tokayev spent seven minutes reprimanding his Russian colleague.", RAHMON, False),
])
def test_the_claim_check_keeps_true_claims_and_cuts_swapped_ones(judge, claim: str, quote: str, true: bool) -> None:
    from rag.config import AnswerSettings

    [check] = judge_claims([ClaimToJudge(f"{claim[:-1]} [1].", claim, [1], f'"{quote}"', quote)], "", judge,
                           AnswerSettings().support_threshold)
    assert check.supported is true


@pytest.mark.xfail(strict=True, reason="known limit: the judge reads entities better than relations (a changed verb)")
def test_a_claim_with_its_verb_changed_is_cut(judge) -> None:
    from rag.config import AnswerSettings

    claim = "Rahmon spent seven minutes praising his Russian colleague."
    [check] = judge_claims([ClaimToJudge(claim, claim, [1], f'"{RAHMON}"', RAHMON)], "", judge, AnswerSettings().support_threshold)
    assert not check.supported


def test_the_judge_alone_ranks_each_true_claim_above_its_swapped_twin(judge) -> None:
    twins = [("Turkmenistan now exports practically all of its gas to China.",
              "Kyrgyzstan now exports practically all of its gas to China.", TURKMENISTAN),
             ("Armenia canceled the exercises after the CSTO refused to help it against Azerbaijan.",
              "Azerbaijan canceled the exercises after the CSTO refused to help it against Armenia.", ARMENIA),
             ("Rahmon spent seven minutes reprimanding his Russian colleague.",
              "Rahmon spent two minutes reprimanding his Russian colleague.", RAHMON)]
    for true, swapped, quote in twins:
        assert judge.support("", true, f'"{quote}"') > judge.support("", swapped, f'"{quote}"'), swapped


def test_the_passage_that_answers_scores_above_on_topic_passages_that_do_not(judge) -> None:
    question = "Why did Armenia cancel CSTO exercises?"
    scores = judge.answerability(question, [ARMENIA, RAHMON, TURKMENISTAN])
    assert scores[0] > max(scores[1:])
    assert judge.answerability(GAS_QUESTION, [TURKMENISTAN])[0] > judge.answerability(GAS_QUESTION, [RAHMON])[0]


def test_the_claim_check_with_the_trained_judge_cuts_a_swapped_entity_and_keeps_the_true_claim(judge) -> None:
    from rag.config import AnswerSettings

    quote = f'"{TURKMENISTAN}"'
    claims = [("Turkmenistan exports practically all of its gas to China [1].",
               "Turkmenistan exports practically all of its gas to China.", [1], quote, TURKMENISTAN),
              ("Kyrgyzstan exports practically all of its gas to China [1].",
               "Kyrgyzstan exports practically all of its gas to China.", [1], quote, TURKMENISTAN + " Kyrgyzstan")]
    kept, cut = judge_claims([ClaimToJudge(*c) for c in claims], GAS_QUESTION, judge, AnswerSettings().support_threshold)
    assert kept.supported and not cut.supported
    assert cut.reason == "its quote does not support it" and cut.support < kept.support


def test_a_pair_scores_the_same_alone_or_among_others_in_input_order(judge) -> None:
    pairs = [("claim: a b", "x " * 150), ("claim: c", "y"), ("claim: d e f", "z " * 40)]
    together = judge.model.scores(pairs)
    alone = [judge.model.scores([p])[0] for p in pairs]
    assert together.tolist() == alone


def test_loading_and_scoring_imports_neither_torch_nor_spacy() -> None:
    probe = ("import sys\nfrom rag.judge import shared_judge\n"
             "print(shared_judge().support('', 'a claim', 'a quote'))\n"
             "assert 'torch' not in sys.modules and 'spacy' not in sys.modules, 'heavy import'\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-1500:]
    assert 0.0 <= float(result.stdout.strip()) <= 1.0


def _passage(n: int, text: str):
    from rag.types import Passage

    return Passage(chunk_id=n, source=f"doc{n}.txt", start=0, end=len(text), score=1.0, text=text, original=text)


def test_a_claim_cut_for_a_name_another_passage_holds_is_cited_to_it_instead(judge) -> None:
    from rag.checks.evidence import Evidence
    from rag.checks.ground import GroundedClaim
    from rag.checks.repair import repair_citations

    question = "Which countries postponed CSTO exercises?"
    evidence = Evidence([_passage(1, "Kazakhstan postponed the CSTO exercises that were planned on its territory."),
                         _passage(2, "Kyrgyzstan also postponed planned military exercises of the Russian-led CSTO "
                                     "military bloc on its territory.")])
    text = "Kazakhstan and Kyrgyzstan postponed the CSTO exercises."
    claim = GroundedClaim(f"{text[:-1]} [1].", text, [evidence.verify("Kazakhstan postponed the CSTO exercises", 1)])
    item = ClaimToJudge(claim.sentence, text, [1], f'"{claim.citations[0].quote}"', evidence.passages[0].text)
    [check] = judge_claims([item], question, judge, 0.5)
    assert not check.supported and "Kyrgyzstan" in check.reason
    [repaired] = repair_citations([claim], [check], evidence, question, judge, 0.5)
    assert repaired.sentence == "Kazakhstan and Kyrgyzstan postponed the CSTO exercises [1][2]."
    assert [c.n for c in repaired.citations] == [1, 2] and repaired.citations[1].verified
    assert "Kyrgyzstan also postponed" in repaired.citations[1].quote
    cited = " ".join(p.text for p in evidence.passages)
    [again] = judge_claims([ClaimToJudge(repaired.sentence, text, [1, 2], " ".join(f'"{c.quote}"' for c in repaired.citations),
                             cited)], question, judge, 0.5)
    assert again.supported


@pytest.mark.xfail(strict=True, reason="known limit: the judge backs two quotes when the second merely names the "
                   "entity, so answer.repair_citations is off by default")
def test_a_claim_no_other_passage_backs_stays_cut(judge) -> None:
    from rag.checks.evidence import Evidence
    from rag.checks.ground import GroundedClaim
    from rag.checks.repair import repair_citations

    question = "Which countries postponed CSTO exercises?"
    evidence = Evidence([_passage(1, "Kazakhstan postponed the CSTO exercises that were planned on its territory."),
                         _passage(2, "Tajikistan hosted a summit of the CSTO in Dushanbe in October.")])
    text = "Kazakhstan and Tajikistan postponed the CSTO exercises."
    claim = GroundedClaim(f"{text[:-1]} [1].", text, [evidence.verify("Kazakhstan postponed the CSTO exercises", 1)])
    item = ClaimToJudge(claim.sentence, text, [1], f'"{claim.citations[0].quote}"', evidence.passages[0].text)
    [check] = judge_claims([item], question, judge, 0.6)
    assert not check.supported
    [repaired] = repair_citations([claim], [check], evidence, question, judge, 0.6)
    assert repaired is claim  # a summit in Tajikistan does not back a postponement


def test_the_judge_as_reranker_puts_the_answering_passage_first(seed_index, hash_embedder) -> None:
    from rag.search.retriever import Retriever

    question = "Why did Armenia cancel CSTO exercises?"
    seed_index.retrieve.reranker = "judge"
    seed_index.retrieve.rerank_depth = 5
    ranked = Retriever(seed_index, embedder=hash_embedder).search(question, k=8)
    head = [p.scores["rerank"] for p in ranked if "rerank" in p.scores]
    assert head == sorted(head, reverse=True) and ranked[0].scores["rerank"] == max(head)
    assert "CSTO refused to help" in ranked[0].text
