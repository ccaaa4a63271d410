"""Evaluation metrics on hand-computed cases, including the edge cases (no gold, empty or refused answers)."""

import math

import pytest

from rag.eval import metrics as m

# ---------------------------------------------------------------- answers


def test_squad_normalisation_drops_case_punctuation_articles_and_spaces():
    assert m.normalize_answer("  The  Cat, sat on a MAT! ") == "cat sat on mat"
    assert m.normalize_answer("\u201cAnkara\u201d") == "ankara"


def test_exact_match_uses_the_best_gold_answer():
    assert m.exact_match("The Turkey.", ["Ankara", "turkey"]) == 1.0
    assert m.exact_match("Turkey and Iran", ["Turkey"]) == 0.0
    assert m.exact_match("", ["Turkey"]) == 0.0


def test_token_f1_hand_computed():
    # prediction tokens [cat, sat]; gold [cat, sat, on, mat]: P = 1, R = 1/2, F1 = 2/3
    assert m.token_f1("the cat sat", "cat sat on the mat") == pytest.approx(2 / 3)
    assert m.best_f1("cat sat", ["dog", "cat sat on the mat"]) == pytest.approx(2 / 3)
    # repeated tokens count at most as often as in the gold answer: common = 1, P = 1/3, R = 1
    assert m.token_f1("cat cat cat", "cat") == pytest.approx(0.5)


def test_token_f1_edge_cases():
    assert m.token_f1("", "Macron") == 0.0
    assert m.token_f1("the", "a") == 1.0  # both normalise to nothing
    assert m.best_f1("Macron", []) == 0.0


def test_containment_respects_word_boundaries():
    assert m.contains_answer("It began in 2018, officials said.", ["2018"]) == 1.0
    assert m.contains_answer("In 20189 nothing happened.", ["2018"]) == 0.0
    assert m.contains_answer("anything", [""]) == 0.0


def test_must_groups_need_every_group_and_any_alternative():
    groups = [["Azerbaijan"], ["refus", "did not help"]]
    assert m.must_pass("The CSTO refused to help against Azerbaijan.", groups) == 1.0
    assert m.must_pass("The CSTO did not help against AZERBAIJAN.", groups) == 1.0
    assert m.must_pass("The CSTO refused to help.", groups) == 0.0


def test_citation_markers_are_stripped_before_scoring():
    assert m.strip_citations("Macron [1] visited [2, 3].") == "Macron visited."
    assert m.exact_match(m.strip_citations("BelTA [1]"), ["BelTA"]) == 1.0


def test_cosine():
    assert m.cosine([1, 0], [1, 0]) == pytest.approx(1.0)
    assert m.cosine([1, 0], [0, 2]) == pytest.approx(0.0)
    assert m.cosine([0, 0], [1, 1]) == 0.0


# ---------------------------------------------------------------- retrieval


COVERED = [set(), {0}, set(), {1}]  # gold piece 0 first found at rank 2, piece 1 at rank 4


def test_hit_recall_mrr_hand_computed():
    assert m.hit_at(COVERED, 1) == 0.0 and m.hit_at(COVERED, 2) == 1.0
    assert m.recall_at(COVERED, 2, 2) == 0.5 and m.recall_at(COVERED, 2, 4) == 1.0
    assert m.mrr_at(COVERED, 10) == 0.5
    assert m.mrr_at(COVERED, 1) == 0.0


def test_ndcg_hand_computed():
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert m.ndcg_at(COVERED, 2, 10) == pytest.approx(expected)
    assert m.ndcg_at([{0}], 1, 10) == 1.0


def test_pieces_sharing_a_passage_count_at_consecutive_ranks():
    assert m.ndcg_at([{0, 1, 2}], 3, 10) == pytest.approx(1.0)  # all evidence in the top passage: perfect
    expected = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m.ndcg_at([set(), {0, 1}], 2, 10) == pytest.approx(expected)  # both at rank 2: ranks 2 and 3
    assert all(m.ndcg_at(c, 3, 10) <= 1.0 for c in ([{0}, {1, 2}], [{0, 1}, {2}], [set(), {0, 1, 2}]))


def test_a_piece_found_twice_gains_only_once():
    assert m.ndcg_at([{0}, {0}], 1, 10) == 1.0
    assert m.recall_at([{0}, {0}], 2, 10) == 0.5


def test_no_gold_evidence_scores_zero_without_dividing_by_zero():
    assert m.recall_at([set()], 0, 5) == 0.0
    assert m.ndcg_at([set()], 0, 10) == 0.0
    assert m.retrieval_scores([], 1, 5) == {"hit@5": 0.0, "recall@5": 0.0, "hit@10": 0.0, "recall@10": 0.0,
                                            "mrr@10": 0.0, "ndcg@10": 0.0}


def test_quote_containment_ignores_whitespace_case_and_typographic_quotes():
    text = "He said \u201cthe CSTO\nrefused\u201d  to help in the armed conflict."
    assert m.quote_pieces([text], ['the csto refused" to help', "not here"]) == {0}
    assert m.quote_pieces([text], [""]) == set()


def test_near_duplicate_copy_from_the_gold_source_counts():
    kept = "Armenia, after the CSTO refused to help in the armed conflict with Azerbaijan last year, said"
    quote = "Armenia, after the CSTO declined to help in the armed conflict with Azerbaijan last year"
    assert m.quote_pieces([kept], [quote], ["b.txt"], duplicate_sources=[]) == set()
    assert m.quote_pieces([kept], [quote], ["b.txt"], duplicate_sources=["b.txt"]) == {0}
    assert m.quote_pieces(["unrelated words"], [quote], ["b.txt"], duplicate_sources=["b.txt"]) == set()


def test_source_level_relevance_and_document_dedup():
    assert m.source_pieces(["d1", "d7"], ["d7", "d9"]) == {0}
    assert m.dedupe_by_source(["a", "a", "b", "a", "c"]) == [0, 2, 4]


# ---------------------------------------------------------------- citations and aggregation


def test_quote_verification_against_the_original_text():
    original = "Intro.  The \u201cfirst\u201d   line\nends here."
    start = original.index("The")
    end = original.index("ends") - 1
    assert m.quote_matches_source('The "first" line', original, start, end)
    assert not m.quote_matches_source("The first line", original, start, end)
    assert not m.quote_matches_source('The "first" line', original, start, len(original) + 5)
    assert not m.quote_matches_source('The "first" line', None, start, end)
    assert not m.quote_matches_source("", original, 0, 0)


def test_citation_precision_and_recall():
    assert m.citation_precision([True, False, True, True]) == 0.75
    assert m.citation_precision([]) is None
    assert m.citation_recall({0}, 2) == 0.5
    assert m.citation_recall(set(), 0) is None


def test_percentile_and_mean():
    assert m.percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert m.percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert m.percentile([], 50) is None
    assert m.mean([1.0, None, 0.0]) == 0.5 and m.mean([None]) is None


def _row(id_, answerable, refused, scores, timings, passed=True):
    return {"id": id_, "answerable": answerable, "refused": refused, "scores": scores, "timings": timings,
            "pass": passed}


def test_summarize_hand_computed():
    rows = [
        _row("a", True, False, {"retrieval": {"hit@5": 1.0, "ndcg@10": 0.5},
                                "answer": {"f1": 1.0, "exact_match": 1.0},
                                "citations": {"count": 2.0, "verified": 2.0, "precision": 1.0, "recall": 1.0},
                                "refusal": {"refused": 0.0}}, {"retrieve": 0.1, "generate": 2.0}),
        _row("b", True, True, {"retrieval": {"hit@5": 0.0, "ndcg@10": 0.0},
                               "answer": {"f1": 0.0, "exact_match": 0.0},
                               "citations": {"count": 0.0, "verified": 0.0, "recall": 0.0},
                               "refusal": {"refused": 1.0}}, {"retrieve": 0.3, "generate": 4.0}, passed=False),
        _row("c", False, True, {"answer": {}, "citations": {"count": 1.0, "verified": 0.0},
                                "refusal": {"refused": 1.0}}, {"retrieve": 0.2}),
    ]
    summary = m.summarize(rows)
    assert summary["retrieval"] == {"hit@5": 0.5, "ndcg@10": 0.25, "n": 2}  # "c" has no gold evidence
    assert summary["answer"]["f1"] == 0.5 and summary["answer"]["n"] == 2
    assert summary["citations"]["verified_share"] == pytest.approx(2 / 3)
    assert summary["citations"]["precision"] == 1.0 and summary["citations"]["recall"] == 0.5
    assert summary["citations"]["answers_with_citations"] == 1.0  # the one answered answerable question cited
    assert summary["refusal"]["refusal_rate"] == 1.0 and summary["refusal"]["false_refusal_rate"] == 0.5
    assert summary["latency"]["retrieve"]["p50"] == pytest.approx(0.2)
    assert summary["latency"]["generate"]["n"] == 2
    assert summary["pass_rate"]["all"] == pytest.approx(2 / 3)


def test_claim_summary_counts_precision_over_answered_only():
    def row(answerable, refused, must, checked, kept, judged=None):
        claims = {"checked": checked, "kept": kept, "removed": checked - kept}
        if judged is not None:
            claims["judge_supported"] = judged
        answer = {"must_pass": must} if answerable else {}
        return {"answerable": answerable, "refused": refused, "pass": True, "timings": {},
                "scores": {"answer": answer, "claims": claims, "refusal": {"refused": float(refused)}}}

    rows = [row(True, False, 1.0, 2, 1, 1.0), row(True, False, 0.0, 1, 1, 0.0), row(True, True, 0.0, 0, 0),
            row(False, False, 0.0, 1, 1), row(False, True, 0.0, 0, 0)]
    claims = m.summarize(rows)["claims"]
    assert claims["checked"] == 4 and claims["kept"] == 3 and claims["removed_share"] == 0.25
    assert claims["n_answered"] == 3 and claims["precision_answered"] == pytest.approx(1 / 3)  # unanswerable answered
    assert claims["accuracy"] == pytest.approx(1 / 5) and claims["judge_support_rate"] == 0.5


def test_the_judge_gate_curve_declines_below_each_threshold_and_scores_what_is_left():
    from rag.eval.metrics import answer_correct
    from rag.eval.riskcoverage import judge_gate_summary

    def row(answerable, score, refused=False):
        return {"answerable": answerable, "answerability": score, "refused": refused, "scores": {}}

    rows = [row(True, 0.9), row(True, 0.4), row(False, 0.6), row(False, 0.2), row(True, 0.8, refused=True)]
    gate = judge_gate_summary(rows, answer_correct)
    assert gate["auc"] == pytest.approx(5 / 6) and gate["n"] == 5
    at = {p["threshold"]: p for p in gate["curve"]}
    assert at[0.0]["coverage"] == pytest.approx(4 / 5) and at[0.0]["precision"] == pytest.approx(0.5)
    assert at[0.5] == {"threshold": 0.5, "coverage": 0.4, "precision": 0.5, "refusal_rate": 0.5,
                       "false_refusal_rate": pytest.approx(2 / 3)}
    assert judge_gate_summary([row(True, None)], answer_correct) is None
